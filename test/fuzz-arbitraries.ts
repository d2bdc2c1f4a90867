import fc from 'fast-check';

/**
 * World-independent building blocks of the fuzzer: hostile values, mutations of a valid
 * JSON value, ways to put bytes on the wire, and header and query variants. Everything is
 * a plain fast-check arbitrary of data (no closures over server state), so counterexamples
 * print and shrink.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Characters that break naive code: lone surrogates, NUL, bidi controls, BOM, separators, quotes. */
const ODD_CHARS = [
  '\u0000', '\u0001', '\u001f', '\u007f', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\u202E', '\u202D', '\u200F', '\u200E',
  '\u2066', '\uFEFF', '\u200B', '\u0301', '\u2028', '\u2029', '\u00A0', '\uFFFD', '\uFFFF', '😀', '𝕏', 'İ', 'ß', 'ǅ', '\\', '"',
  "'", '/', '\n', '\r', '\t', '%', '%00', '%ZZ', '{{', '}}', '<script>', '../', '..', '.', '${x}', '\u00e9', '日本',
];

export const oddString: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ODD_CHARS) }, { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  maxLength: 24,
});

export const anyString: fc.Arbitrary<string> = fc.oneof(fc.string({ maxLength: 24 }), oddString, fc.string({ unit: 'binary', maxLength: 24 }));

/** Under the body limit, but far over every field's own limit. */
const LONG_STRINGS = [257, 701, 10_001, 100_001, 200_000].map((n) => 'x'.repeat(n));

/** A value `depth` levels deep, as arrays or objects. */
export function nested(depth: number, objects: boolean): Json {
  let value: Json = 0;
  for (let i = 0; i < depth; i++) value = objects ? { a: value } : [value];
  return value;
}

const EDGE_VALUES: Json[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 2 ** 31, -(2 ** 31), 4e-324, '', ' ', [], {}, [null], { type: null }];

/** A value to put where a field belongs: another type, too long, too deep, odd Unicode. */
export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 3, arbitrary: oddString },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.constantFrom(...LONG_STRINGS) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 200 }), fc.boolean()).map(([d, o]) => nested(d, o)) },
);

export type Mutation =
  | { kind: 'none' }
  | { kind: 'delete'; pick: number }
  | { kind: 'replace'; pick: number; value: Json }
  | { kind: 'unknownType'; pick: number; type: string }
  | { kind: 'addKey'; pick: number; key: string; value: Json }
  | { kind: 'root'; value: Json };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: hostileValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('unknownType' as const),
      pick: fc.nat(),
      type: fc.oneof(fc.constantFrom('spreadsheetSource', 'docx', 'PDF', 'pdf ', '', 'documentsource', '__proto__', 'constructor'), anyString),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('addKey' as const),
      pick: fc.nat(),
      key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'extra', 'source', 'target', 'request'), anyString),
      value: hostileValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('root' as const), value: hostileValue }) },
);

type Path = Array<string | number>;

/**
 * Every node of a JSON value with its path, in pre-order. Iterative: valid bodies include
 * deeply nested content (the depth guard's cases), which overflowed a recursive walk.
 */
function nodes(root: Json): Array<{ path: Path; value: Json }> {
  const out: Array<{ path: Path; value: Json }> = [];
  const stack: Array<{ path: Path; value: Json }> = [{ path: [], value: root }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    out.push(node);
    const { path, value } = node;
    const children: Array<{ path: Path; value: Json }> = Array.isArray(value)
      ? value.map((v, i) => ({ path: [...path, i], value: v }))
      : value !== null && typeof value === 'object'
        ? Object.entries(value).map(([k, v]) => ({ path: [...path, k], value: v }))
        : [];
    // Pushed last-first, so children come out in order, as a recursive walk would give them.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

/** Sets an own property, even `__proto__`, so that it reaches the wire. */
function setOwn(target: Json[] | { [key: string]: Json }, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function parentOf(root: Json, path: Path): Json[] | { [key: string]: Json } | undefined {
  let current: Json = root;
  for (const key of path.slice(0, -1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, Json>)[key as never] as Json;
  }
  return current !== null && typeof current === 'object' ? current : undefined;
}

const clone = (value: Json): Json => JSON.parse(JSON.stringify(value)) as Json;

/** The valid value with one mutation applied; paths are picked modulo the candidates, so any `pick` is usable. */
export function applyMutation(valid: Json, m: Mutation): Json {
  if (m.kind === 'none') return valid;
  if (m.kind === 'root') return m.value;
  const root = clone(valid);
  const all = nodes(root);
  if (m.kind === 'addKey') {
    const objects = all.filter((n) => n.value !== null && typeof n.value === 'object' && !Array.isArray(n.value));
    const chosen = objects[m.pick % Math.max(1, objects.length)];
    if (chosen) setOwn(chosen.value as { [key: string]: Json }, m.key, m.value);
    return root;
  }
  if (m.kind === 'unknownType') {
    const typed = all.filter((n) => n.value !== null && typeof n.value === 'object' && !Array.isArray(n.value) && 'type' in n.value);
    const chosen = typed[m.pick % Math.max(1, typed.length)];
    if (chosen) (chosen.value as { [key: string]: Json }).type = m.type;
    return root;
  }
  const inner = all.filter((n) => n.path.length > 0);
  const chosen = inner[m.pick % Math.max(1, inner.length)];
  if (!chosen) return m.kind === 'replace' ? m.value : root;
  const parent = parentOf(root, chosen.path);
  const key = chosen.path[chosen.path.length - 1]!;
  if (!parent) return root;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key as string];
  } else {
    setOwn(parent, key, m.value);
  }
  return root;
}

/** How the (mutated) value becomes bytes on the wire. */
export type Encoding =
  | { kind: 'json' }
  | { kind: 'truncate'; at: number }
  | { kind: 'garbage'; text: string }
  | { kind: 'blank'; text: string }
  | { kind: 'absent' }
  | { kind: 'huge' }
  | { kind: 'deep'; depth: number; objects: boolean }
  | { kind: 'form' };

export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 40, arbitrary: fc.constant({ kind: 'json' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      text: fc.oneof(anyString, fc.constantFrom('{', '}', '[', 'null', 'true', '1', '"x"', '{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":1}{"b":2}', '\uFEFF{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"__proto__":{"polluted":1}}')),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('blank' as const), text: fc.constantFrom('', ' ', '\n', '\t\r\n ') }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'absent' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: 60, max: 70 }), fc.integer({ min: 1, max: 20_000 })), objects: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'form' as const }) },
);

/** The payload for an encoding, or undefined for no body at all. `hugeBytes` is just over the body limit. */
export function encode(value: Json, e: Encoding, hugeBytes: number): string | undefined {
  switch (e.kind) {
    case 'json':
      return JSON.stringify(value);
    case 'truncate': {
      const text = JSON.stringify(value);
      return text.slice(0, e.at % Math.max(1, text.length));
    }
    case 'garbage':
    case 'blank':
      return e.text;
    case 'absent':
      return undefined;
    case 'huge':
      return `{"pad":"${'x'.repeat(hugeBytes)}"}`;
    case 'deep':
      return e.objects ? '{"a":'.repeat(e.depth) + '0' + '}'.repeat(e.depth) : '['.repeat(e.depth) + ']'.repeat(e.depth);
    case 'form':
      return 'exportJobSource=x&exportJobTarget=y';
  }
}

/** Percent-encodes anything, lone surrogates included (as the bytes of their UTF-8-like form, which is invalid UTF-8). */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(char);
  }
  return out;
}

/** Header values Node lets through: tab, visible ASCII, space and obs-text. */
export const headerText: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c))),
  maxLength: 40,
});

export const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json;charset=UTF-16',
  'APPLICATION/JSON',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/vnd.api+json',
  'multipart/form-data; boundary=----x',
  'application/json, text/plain',
  'foo',
  '',
  ';;;',
  '*/*',
];

export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .subarray(
    [
      ['accept', 'application/json'],
      ['accept', 'text/html'],
      ['accept', '*/*'],
      ['accept-version', '1.0.0'],
      ['x-forwarded-for', '10.0.0.1, 203.0.113.9'],
      ['content-encoding', 'gzip'],
      ['content-encoding', 'identity'],
      ['x-http-method-override', 'GET'],
      ['origin', 'https://evil.example'],
      ['cookie', 'session=1'],
      ['trpc-accept', 'application/json'],
      ['x-request-id', '\u00ff\u00fe'],
    ] as Array<[string, string]>,
    { maxLength: 3 },
  )
  .map((pairs) => Object.fromEntries(pairs));

export const WRONG_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const;
export type Method = (typeof WRONG_METHODS)[number];

/**
 * What a query says of `preview`: true or false as the contract reads it, or 'repeated' (given
 * more than once: a malformed query, Default:InvalidArgument naming it, docs/api.md).
 */
export type PreviewReading = boolean | 'repeated';

/** Query strings for `preview`, each tagged with how the contract reads it. */
export const PREVIEW_QUERIES: ReadonlyArray<{ query: string; preview: PreviewReading }> = [
  { query: '', preview: false },
  { query: 'preview=false', preview: false },
  { query: 'preview=TRUE', preview: false },
  { query: 'preview=1', preview: false },
  { query: 'preview', preview: false },
  { query: 'preview=', preview: false },
  { query: 'preview=true&preview=false', preview: 'repeated' },
  { query: 'preview=true&preview=true', preview: 'repeated' },
  { query: 'preview[]=true', preview: false },
  { query: 'Preview=true', preview: false },
  { query: 'preview=true%00', preview: false },
  { query: 'preview=%ZZ', preview: false },
  { query: 'preview=%74rue', preview: true },
  { query: 'preview=true&x=%ZZ', preview: true },
  { query: 'x=1&preview=true', preview: true },
];

export interface QueryChoice {
  query: string;
  /** undefined: a random query, whose reading is not predicted. */
  preview: PreviewReading | undefined;
}

export const restQuery: fc.Arbitrary<QueryChoice> = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ query: 'preview=true', preview: true }) },
  { weight: 3, arbitrary: fc.constantFrom(...PREVIEW_QUERIES) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(anyString, anyString, fc.boolean())
      .map(([k, v, raw]) => ({ query: `preview=true&${raw ? k.replace(/[^\x21-\x7e]|#/g, '') : percentEncode(k)}=${percentEncode(v)}`, preview: undefined })),
  },
);
