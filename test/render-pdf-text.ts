/**
 * Reads a rendered PDF back with pdfjs: the text layer per page, the info dictionary and
 * link annotations. Test-only helper for the render tests.
 */
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface PdfContents {
  numPages: number;
  /** Text per page: pdfjs items joined as laid out, a newline where pdfjs ends a line. */
  pages: string[];
  info: Record<string, unknown>;
  /** URLs of link annotations, per page. */
  links: string[][];
}

export async function readPdf(bytes: Uint8Array): Promise<PdfContents> {
  // pdfjs may transfer (detach) the buffer it is given: always hand it a copy.
  const task = getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, disableFontFace: true, isEvalSupported: false });
  const pdf = await task.promise;
  try {
    const pages: string[] = [];
    const links: string[][] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      pages.push(text);
      const annotations = (await page.getAnnotations()) as Array<{ subtype?: string; url?: string }>;
      links.push(annotations.filter((a) => a.subtype === 'Link' && typeof a.url === 'string').map((a) => a.url!));
      page.cleanup();
    }
    const metadata = await pdf.getMetadata();
    return { numPages: pdf.numPages, pages, info: metadata.info as Record<string, unknown>, links };
  } finally {
    await task.destroy();
  }
}

/** Collapses every run of whitespace (including Intl's U+202F / U+00A0) to one space. */
export function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The first needle that does not occur after the previous one, or undefined if all are in order. */
export function firstOutOfOrder(haystack: string, needles: string[]): string | undefined {
  let from = 0;
  for (const needle of needles) {
    const at = haystack.indexOf(needle, from);
    if (at === -1) return needle;
    from = at + needle.length;
  }
  return undefined;
}
