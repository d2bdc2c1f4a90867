/**
 * Reads a rendered PDF back with pdfjs: the text layer per page, the info dictionary,
 * link annotations, the outline with each entry's target, the viewer preferences and the
 * positioned text items. Test-only helper for the render tests.
 */
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface PdfContents {
  numPages: number;
  /** Text per page: pdfjs items joined as laid out, a newline where pdfjs ends a line. */
  pages: string[];
  info: Record<string, unknown>;
  /** URLs of link annotations, per page. */
  links: string[][];
  /** The outline (bookmarks), as nested entries; empty when the PDF has none. */
  outline: OutlineEntry[];
  viewerPreferences: Record<string, unknown> | null;
  /** Text items per page, with their origin in PDF user space (y grows upwards). */
  items: TextItem[][];
}

export interface OutlineEntry {
  title: string;
  /** 0-based page index of the target. */
  page: number;
  /** The destination after the page: e.g. ['XYZ', left, top, zoom]. */
  dest: unknown[];
  children: OutlineEntry[];
}

export interface TextItem {
  str: string;
  x: number;
  y: number;
  width: number;
}

interface PdfjsOutlineNode {
  title: string;
  dest: string | unknown[] | null;
  items: PdfjsOutlineNode[];
}

export async function readPdf(bytes: Uint8Array): Promise<PdfContents> {
  // pdfjs may transfer (detach) the buffer it is given: always hand it a copy.
  const task = getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, disableFontFace: true, isEvalSupported: false });
  const pdf = await task.promise;
  try {
    const pages: string[] = [];
    const links: string[][] = [];
    const items: TextItem[][] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      let text = '';
      const pageItems: TextItem[] = [];
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
        if (item.str) pageItems.push({ str: item.str, x: item.transform[4] as number, y: item.transform[5] as number, width: item.width });
      }
      pages.push(text);
      items.push(pageItems);
      const annotations = (await page.getAnnotations()) as Array<{ subtype?: string; url?: string }>;
      links.push(annotations.filter((a) => a.subtype === 'Link' && typeof a.url === 'string').map((a) => a.url!));
      page.cleanup();
    }
    const metadata = await pdf.getMetadata();
    const resolve = async (nodes: PdfjsOutlineNode[] | null): Promise<OutlineEntry[]> => {
      const out: OutlineEntry[] = [];
      for (const node of nodes ?? []) {
        const dest = typeof node.dest === 'string' ? await pdf.getDestination(node.dest) : node.dest;
        if (!dest) throw new Error(`outline entry ${node.title} has no destination`);
        const [ref, kind, ...rest] = dest as [{ num: number; gen: number }, { name: string }, ...unknown[]];
        const page = await pdf.getPageIndex(ref);
        out.push({ title: node.title, page, dest: [kind.name, ...rest], children: await resolve(node.items) });
      }
      return out;
    };
    const outline = await resolve((await pdf.getOutline()) as PdfjsOutlineNode[] | null);
    const viewerPreferences = (await pdf.getViewerPreferences()) as Record<string, unknown> | null;
    return { numPages: pdf.numPages, pages, info: metadata.info as Record<string, unknown>, links, outline, viewerPreferences, items };
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
