/**
 * The PDF outline (bookmarks): one entry per heading, nested by level, each opening at
 * its heading's top on its page.
 *
 * Nesting follows the headings as written: an entry goes under the closest preceding
 * heading of a lower level, so a skipped level (an h4 straight after an h2) nests one step
 * deeper rather than inventing an empty entry, and a document starting at h3 has its h3s
 * at the top of the outline. pdfkit links the items and writes them out at doc.end().
 */
import type PDFDocument from 'pdfkit';

type Doc = InstanceType<typeof PDFDocument>;

/** pdfkit's outline item; `outlineData` is the item's dictionary, written out at doc.end(). */
interface OutlineItem {
  addItem(title: string, options?: object): OutlineItem;
  outlineData: Record<string, unknown>;
}

// Titles are for a side panel; a heading may be a whole paragraph long.
const MAX_TITLE_LENGTH = 512;

export class Outline {
  private readonly open: { level: number; item: OutlineItem }[] = [];

  constructor(
    private readonly doc: Doc,
    private readonly pageHeight: number,
  ) {}

  /** A heading whose top is `top` points from the top of the current page. */
  add(level: number, title: string, top: number): void {
    const text = cleanTitle(title);
    if (!text) return;
    while (this.open.length > 0 && this.open[this.open.length - 1]!.level >= level) this.open.pop();
    const parent = this.open[this.open.length - 1]?.item ?? (this.doc.outline as unknown as OutlineItem);
    const item = parent.addItem(text);
    // pdfkit writes [page /Fit] by default, and its XYZ form takes `left` from the right
    // edge; write the destination ourselves: left edge, the heading's top, zoom unchanged.
    item.outlineData['Dest'] = [this.doc.page.dictionary, 'XYZ', 0, round(this.pageHeight - top), null];
    this.open.push({ level, item });
  }
}

function cleanTitle(title: string): string {
  // Line breaks and tabs inside a heading become spaces; controls have no place in a title.
  const text = title.replace(/[\u0000-\u001F\u007F-\u009F\u00AD]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (text.length <= MAX_TITLE_LENGTH) return text;
  // Do not cut a surrogate pair in half.
  const cut = /[\uD800-\uDBFF]/.test(text[MAX_TITLE_LENGTH - 1]!) ? MAX_TITLE_LENGTH - 1 : MAX_TITLE_LENGTH;
  return `${text.slice(0, cut)}…`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
