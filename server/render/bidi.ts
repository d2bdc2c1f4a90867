/**
 * The Unicode bidirectional algorithm (UAX #9), by bidi-js, for the layout: embedding
 * levels per paragraph before wrapping, and each line's visual order after it.
 */
import { createRequire } from 'node:module';
import type { Bidi, EmbeddingLevels } from 'bidi-js';
import { RTL_SCRIPT_CHAR } from './scripts.js';

// bidi-js's CommonJS build exports the factory itself, while its types declare an ES
// default export; requiring it gives the factory in every loader.
const bidi = (createRequire(import.meta.url)('bidi-js') as () => Bidi)();

// Explicit directional formatting characters can make even Latin text right-to-left.
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** The resolved levels of a text (one per UTF-16 unit), or null when all of it is left to right. */
export interface BidiText {
  readonly text: string;
  readonly levels: EmbeddingLevels;
}

/**
 * Levels of `text`, each paragraph (split at `\n`) taking its direction from its first
 * strong character, or all of them `direction` when given (a list marker takes its item's).
 * Null for text without right-to-left characters or bidi controls and no direction, the
 * common case, which then skips the algorithm entirely.
 */
export function resolveLevels(text: string, direction?: 'rtl'): BidiText | null {
  if (direction === undefined && !RTL_SCRIPT_CHAR.test(text) && !BIDI_CONTROLS.test(text)) return null;
  return { text, levels: bidi.getEmbeddingLevels(text, direction) };
}

/**
 * True when the first strong character of `text` is right to left: the rule that makes a
 * paragraph right-aligned (its base level, as resolveLevels and paragraphLevel give the
 * layout), over text that may hold several of them, so a newline is only a space here.
 */
export function startsRightToLeft(text: string): boolean {
  const resolved = resolveLevels(text.replace(/\n/g, ' '));
  return resolved !== null && paragraphLevel(resolved, 0) % 2 === 1;
}

/** The base level of the paragraph holding `offset`: odd for a right-to-left paragraph. */
export function paragraphLevel(bidiText: BidiText, offset: number): number {
  for (const paragraph of bidiText.levels.paragraphs) {
    if (offset >= paragraph.start && offset <= paragraph.end) return paragraph.level;
  }
  return 0;
}

/**
 * The visual position of each UTF-16 unit of `text[start..end]` (inclusive), as rules L1
 * and L2 order the line: position[i - start] is where unit i is shown, counted from the left.
 */
export function visualPositions(bidiText: BidiText, start: number, end: number): Int32Array {
  const order = new Int32Array(end - start + 1);
  for (let i = 0; i < order.length; i++) order[i] = start + i;
  for (const [from, to] of bidi.getReorderSegments(bidiText.text, bidiText.levels, start, end)) {
    for (let a = from! - start, b = to! - start; a < b; a++, b--) {
      const t = order[a]!;
      order[a] = order[b]!;
      order[b] = t;
    }
  }
  const position = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) position[order[i]! - start] = i;
  return position;
}

/** The text with characters mirrored as shown in a right-to-left run (rule L4: `(` shows as `)`). */
export function mirrored(text: string): string {
  let out = '';
  for (const ch of text) out += bidi.getMirroredCharacter(ch) ?? ch;
  return out;
}

/** True when the text holds a strong right-to-left character (bidi class R or AL). */
export function hasStrongRtl(text: string): boolean {
  for (const ch of text) {
    const type = bidi.getBidiCharTypeName(ch);
    if (type === 'R' || type === 'AL') return true;
  }
  return false;
}
