import { describe, expect, it } from 'vitest';
import { contentDisposition, MAX_FILENAME_UNITS, safeFilename, truncateGraphemes } from '../server/files/content-disposition.js';

describe('file names from titles', () => {
  it('cuts a long title at a grapheme boundary, never inside an emoji or a combining sequence', () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'; // one grapheme, 8 UTF-16 units
    for (let pad = 0; pad < 12; pad++) {
      const name = safeFilename('x'.repeat(pad) + family.repeat(40));
      const stem = name.slice(0, -'.pdf'.length);
      expect(stem.length).toBeLessThanOrEqual(MAX_FILENAME_UNITS);
      expect(/\p{Cs}/u.test(stem)).toBe(false); // no half of a surrogate pair
      expect(stem.slice(pad).split(family).every((part) => part === '')).toBe(true); // whole families only
      expect(() => encodeURIComponent(contentDisposition(name))).not.toThrow();
    }
    const accented = 'e\u0301'.repeat(100); // 200 units, 100 graphemes
    expect(truncateGraphemes(accented, 151)).toBe('e\u0301'.repeat(75));
    expect(truncateGraphemes('short', 150)).toBe('short');
  });
});
