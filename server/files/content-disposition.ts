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

/** A file name from a document title: no path separators, control characters or dot-only names. */
export function safeFilename(title: string, extension = '.pdf'): string {
  let base = title
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/\s+/g, ' ')
    .trim();
  if (base.endsWith(extension)) base = base.slice(0, -extension.length);
  base = base.replace(/^\.+/, '').slice(0, 150).trim();
  if (base === '') base = 'export';
  return `${base}${extension}`;
}
