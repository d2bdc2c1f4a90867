/**
 * Text that cannot be stored as it was sent: a lone UTF-16 surrogate (a JSON `\uD800`
 * escape without its pair) becomes U+FFFD in SQLite's UTF-8 and in the PDF, so what a
 * client reads back would differ from what it was told was saved. Request bodies with one
 * are refused as invalid input, on every transport, before any schema runs.
 */
import { NotepadError } from './errors.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** The path of the first string (or key) holding a lone surrogate, if any; no recursion. */
export function loneSurrogatePath(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (LONE_SURROGATE.test(node)) return path || '(body)';
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      const childPath = Array.isArray(node) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (LONE_SURROGATE.test(key)) return childPath;
      stack.push([child, childPath]);
    }
  }
  return undefined;
}

/** Throws Default:InvalidArgument naming the first string with a lone surrogate. */
export function requireWellFormedText(value: unknown): void {
  const parameter = loneSurrogatePath(value);
  if (parameter !== undefined) {
    throw new NotepadError('Default:InvalidArgument', { parameter, message: 'text with a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape)' });
  }
}
