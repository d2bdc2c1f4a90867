/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`, or `npm run bench -- --profile`):
 * the functions with the most self time, and the most inclusive time, so a finding can be
 * quoted in bench/README.md without opening DevTools.
 *
 *   npx tsx bench/profile-top.ts bench/profiles/<run>/<server>/CPU.*.cpuprofile [--top 25] [--filter server/] [--from ms]
 *
 * --from skips the first milliseconds of the profile (a server's start-up, before the load).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function label(frame: CallFrame): string {
  let where = frame.url;
  if (where.startsWith('file://')) where = relative(process.cwd(), fileURLToPath(where));
  return `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
}

function summarise(profile: CpuProfile, fromMs = 0): { totalMs: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromMs * 1000) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const ms = us / 1000;
    totalMs += ms;
    const node = byId.get(id)!;
    self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + ms);
    // Each function counts once per sample even when it recurses.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = label(byId.get(cur)!.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  }
  return { totalMs, self, inclusive };
}

function top(map: Map<string, number>, n: number, filter: string | undefined): Array<[string, number]> {
  return [...map].filter(([name]) => !filter || name.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, n);
}

function main(): void {
  const args = process.argv.slice(2);
  const n = Number(args[args.indexOf('--top') + 1] ?? 25) || 25;
  const filterAt = args.indexOf('--filter');
  const filter = filterAt >= 0 ? args[filterAt + 1] : undefined;
  const fromAt = args.indexOf('--from');
  const fromMs = fromAt >= 0 ? Number(args[fromAt + 1]) || 0 : 0;
  const files = args.filter((arg) => arg.endsWith('.cpuprofile'));
  for (const file of files) {
    const { totalMs, self, inclusive } = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, fromMs);
    console.log(`\n## ${file}: ${totalMs.toFixed(0)} ms sampled`);
    console.log('\nself time:');
    for (const [name, ms] of top(self, n, filter)) console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`);
    console.log('\ninclusive time:');
    for (const [name, ms] of top(inclusive, n, filter)) console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
