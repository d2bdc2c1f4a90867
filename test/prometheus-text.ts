/**
 * A reader of Prometheus' text exposition format (version 0.0.4), strict enough for tests:
 * every sample belongs to a family with HELP and TYPE lines, label values are quoted and
 * escaped, values are numbers.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** The value of the one sample with this name and these labels (among possibly more); throws if there is none. */
  value(name: string, labels?: Record<string, string>): number;
  /** Samples with this name whose labels include these. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

/** As Prometheus reads it (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(raw: string): number | undefined {
  if (/^nan$/i.test(raw)) return NaN;
  const infinity = /^([+-]?)inf(inity)?$/i.exec(raw);
  if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
  const value = Number(raw);
  return raw.trim() === '' || Number.isNaN(value) ? undefined : value;
}

const unescape = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') types.set(comment[2]!, comment[3]!);
      else helps.add(comment[2]!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', rawValue] = match;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let m = LABEL.exec(labelText); m; m = LABEL.exec(labelText)) {
      labels[m[1]!] = unescape(m[2]!);
      consumed = LABEL.lastIndex;
    }
    if (consumed !== labelText.length) throw new Error(`malformed labels: ${line}`);
    const value = parseValue(rawValue!);
    if (value === undefined) throw new Error(`not a number: ${line}`);
    const family = types.has(name!) ? name! : SUFFIXES.map((s) => (name!.endsWith(s) ? name!.slice(0, -s.length) : '')).find((f) => f && types.has(f));
    if (!family || !helps.has(family)) throw new Error(`sample ${name} has no TYPE and HELP`);
    samples.push({ name: name!, labels, value });
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    find,
    value(name, labels = {}) {
      const found = find(name, labels);
      if (found.length === 0) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
      return found[0]!.value;
    },
  };
}
