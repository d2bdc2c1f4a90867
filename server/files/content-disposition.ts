/**
 * An RFC 6266 Content-Disposition for a user-chosen name: an ASCII `filename` fallback
 * with everything risky replaced, and the exact name in `filename*` (RFC 8187 UTF-8).
 * Control characters (CR/LF included) never reach the header.
 */
export function contentDisposition(filename: string): string {
  const clean = safeFilename(filename);
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%;]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Longest file name stem, in UTF-16 code units. */
export const MAX_FILENAME_UNITS = 150;

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * At most `max` UTF-16 units of `text`, cut at a grapheme boundary: never inside a
 * surrogate pair, an emoji sequence or a letter with its combining marks.
 */
export function truncateGraphemes(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    if (index + segment.length > max) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/** A file name from a document title: no path separators, control characters or dot-only names. */
export function safeFilename(title: string, extension = '.pdf'): string {
  let base = title
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/\s+/g, ' ')
    .trim();
  if (base.endsWith(extension)) base = base.slice(0, -extension.length);
  base = truncateGraphemes(base.replace(/^\.+/, ''), MAX_FILENAME_UNITS).trim();
  if (base === '') base = 'export';
  return `${base}${extension}`;
}
