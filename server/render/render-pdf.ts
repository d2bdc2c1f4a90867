/**
 * Renders the content model to PDF with pdfkit.
 *
 * Pages are buffered (`bufferPages`) because every footer says "n / N" and N is only
 * known at the end. Line breaking and page breaking are ours (see text-layout.ts), so
 * pdfkit only ever draws pre-positioned fragments and never adds a page on its own:
 * every page comes from `BlockRenderer.newPage`. This file walks the document; tables are
 * laid out in table-layout.ts, and the output bytes and their limits are in pdf-output.ts.
 */
import PDFDocument from 'pdfkit';
import { inlineNodesOf, type Block, type Content, type InlineNode, type ListItem, type Mark } from '../contract/content.js';
import { startsRightToLeft } from './bidi.js';
import { conformanceOf, declareConformance, PDFA_SUBSET } from './conformance.js';
import type { FontStyle } from './fonts.js';
import { exportedLabel } from './footer-labels.js';
import { InlineFormatter } from './format.js';
import { Outline } from './outline.js';
import { PdfOutput } from './pdf-output.js';
import { PAGINATION, Structure, type Role, type Tag } from './structure.js';
import { drawTable, type TableFlow } from './table-layout.js';
import { TextEngine, expandTabs, type Line, type Run, type RunStyle, type Tokens } from './text-layout.js';

export { ContentTooLargeError, isContentTooLarge } from './errors.js';

export interface RenderRequest {
  title: string;
  content: Content;
  locale: string;
  timezone: string;
  /** Epoch ms, fixed per job: it is the PDF's creation date, so re-rendering a job is byte-identical. */
  exportedAt: number;
  limits?: { maxPages?: number; maxBytes?: number };
}

export interface RenderResult {
  pdf: Uint8Array;
  pageCount: number;
  /** Sorted, unique code points that no bundled font covers (rendered as .notdef). */
  missingCodePoints: number[];
  /** How many .notdef boxes the PDF shows: each uncovered character, each time it is drawn. */
  missingGlyphs: number;
}

/** Told as the render goes (ExportJob.progress): the pages laid out so far, each time one is complete. */
export type PagesRendered = (pages: number) => void;

/** Whether the render should stop now: asked at every page break (a stop there leaves nothing behind). */
export type StopRequested = () => boolean;

/** The render stopped because it was asked to (StopRequested), at a page break. */
export class RenderStopped extends Error {
  override readonly name = 'RenderStopped';
  constructor() {
    super('the render was stopped at a page break, as asked');
  }
}

type Doc = InstanceType<typeof PDFDocument>;

const PRODUCER = 'notepad-export';

// A4 in points.
const PAGE_WIDTH = 595.28;
const PAGE_HEIGHT = 841.89;
const MARGIN = { top: 56, bottom: 62, left: 56, right: 56 };
const CONTENT_TOP = MARGIN.top;
const CONTENT_BOTTOM = PAGE_HEIGHT - MARGIN.bottom;
const FOOTER_TOP = PAGE_HEIGHT - 40;

const BODY_SIZE = 11;
const TITLE_SIZE = 22;
const HEADING_SIZES = [20, 17, 15, 13, 12, 11] as const;
const CODE_SIZE = 9;
const FOOTER_SIZE = 8;

const TEXT_COLOR = '#1a1a1a';
const MUTED_COLOR = '#666666';
const QUOTE_COLOR = '#4a4a4a';
const LINK_COLOR = '#1a56c4';
const REFERENCE_COLOR = '#0f6e6e';
const RULE_COLOR = '#b8b8b8';
const QUOTE_BAR_COLOR = '#c9ccd1';
const CODE_BACKGROUND = '#f3f4f6';
const INLINE_CODE_BACKGROUND = '#eceef1';

const BLOCK_GAP = 9;
const LIST_GAP = 3;
const LIST_INDENT = 20;
const QUOTE_INDENT = 14;
const MIN_BOX_WIDTH = 120;
/** A quote's bar is drawn 2 pt inside its box, 3 pt wide: the least a quote indents its text. */
const QUOTE_BAR_ROOM = 6;
const CODE_PADDING = 6;
const BULLETS = ['•', '◦', '▪'] as const;
// Only schemes a reader can safely follow become clickable links.
const LINKABLE = /^(https?:|mailto:)/i;

export async function renderPdf(req: RenderRequest, onPages?: PagesRendered, stopRequested?: StopRequested): Promise<RenderResult> {
  const createdAt = new Date(req.exportedAt);
  const lang = documentLanguage(req.locale);
  const doc: Doc = new PDFDocument({
    size: [PAGE_WIDTH, PAGE_HEIGHT],
    margins: MARGIN,
    bufferPages: true,
    autoFirstPage: false,
    pdfVersion: '1.7',
    // A structure tree and MarkInfo (structure.ts); PDF/A-2's output intent and XMP (conformance.ts).
    tagged: true,
    subset: PDFA_SUBSET,
    // The catalog's /Lang, for screen readers and text-to-speech; none for `und`.
    ...(lang === undefined ? {} : { lang }),
    // Viewers show the title, not the file name, in their window (ViewerPreferences DisplayDocTitle).
    displayTitle: true,
    // pdfkit's only non-deterministic inputs are CreationDate (defaults to now) and,
    // derived from the info dictionary, the trailer /ID; pinning the dates fixes both.
    info: { Title: req.title, Producer: PRODUCER, Creator: PRODUCER, CreationDate: createdAt, ModDate: createdAt },
    // No default font: pdfkit would parse Helvetica's metrics for every document, and no
    // text of ours is set in it (every run picks a bundled face, fonts.ts).
    font: null as unknown as string,
  });
  const output = await PdfOutput.of(doc, req.limits);

  const format = new InlineFormatter(req.locale, req.timezone);
  const text = new TextEngine(doc, format.locale);
  const tags = new Structure(doc);
  text.marks = tags;
  const renderer = new BlockRenderer(doc, text, format, tags, onPages, stopRequested);
  renderer.render(req.title, req.content);
  onPages?.(renderer.pages);
  if (stopRequested?.()) throw new RenderStopped();
  // The locale the date is formatted in (en-US for one Intl cannot use), so words and date agree.
  renderer.footers(exportedLabel(format.locale), req.exportedAt);
  declareConformance(doc, { title: req.title, createdAt, lang, producer: PRODUCER }, conformanceOf(lang, text.missing.size > 0));

  const pdf = await output.finish();
  return { pdf, pageCount: output.pageCount, missingCodePoints: [...text.missing].sort((a, b) => a - b), missingGlyphs: text.missingDrawn };
}

/**
 * The document's language as a canonical BCP 47 tag, or undefined when the locale claims
 * none (`und`, the undetermined language) or is not a well-formed tag (the API refuses
 * those; a render must still not fail over one).
 */
export function documentLanguage(locale: string): string | undefined {
  let tag: string | undefined;
  try {
    tag = Intl.getCanonicalLocales(locale)[0];
  } catch {
    return undefined;
  }
  if (!tag || tag.split('-')[0]!.toLowerCase() === 'und') return undefined;
  return tag;
}

interface Box {
  left: number;
  width: number;
  color: string;
  /** Space between sibling blocks. */
  gap: number;
  listDepth: number;
}

interface BaseStyle {
  size: number;
  color: string;
  bold?: boolean;
}

interface PendingMarker {
  line: Line;
  /** x of the marker's edge next to the item's text: its right edge, or its left one in a right-to-left item. */
  edge: number;
  /** The list item's Lbl element. */
  tag: Tag;
}

class BlockRenderer implements TableFlow {
  y = CONTENT_TOP;
  readonly contentTop = CONTENT_TOP;
  readonly contentBottom = CONTENT_BOTTOM;
  private started = false;
  /** Pages begun so far. */
  pages = 0;
  /** Bars of the quotes we are inside (left or right), with where each began on the current page. */
  private readonly bars: { x: number; startY: number }[] = [];
  /** List markers waiting for their item's first line, so they share its baseline. */
  private markers: PendingMarker[] = [];
  private readonly styles = new Map<string, RunStyle>();
  readonly outline: Outline;

  constructor(
    readonly doc: Doc,
    readonly text: TextEngine,
    private readonly format: InlineFormatter,
    readonly tags: Structure,
    private readonly onPages?: PagesRendered,
    private readonly stopRequested?: StopRequested,
  ) {
    this.outline = new Outline(doc, PAGE_HEIGHT);
  }

  render(title: string, content: Content): void {
    this.newPage();
    const box: Box = { left: MARGIN.left, width: PAGE_WIDTH - MARGIN.left - MARGIN.right, color: TEXT_COLOR, gap: BLOCK_GAP, listDepth: 0 };
    const titleStyle = this.style({ font: 'bold', size: TITLE_SIZE, color: TEXT_COLOR });
    // The title is the document's first heading; the content's headings follow it.
    this.tags.begin(this.tags.heading(1));
    this.drawLines(this.text.layout([{ text: title, style: titleStyle }], box.width, { baseSize: TITLE_SIZE, lineHeight: 1.25 }), box);
    this.tags.end();
    this.y += TITLE_SIZE * 0.6;
    this.blocks(content.blocks, box);
  }

  footers(label: string, exportedAt: number): void {
    const doc = this.doc;
    const { start, count } = doc.bufferedPageRange();
    const style = this.style({ font: 'regular', size: FOOTER_SIZE, color: MUTED_COLOR });
    const exported = this.text.layout([{ text: `${label} ${this.format.exportedAt(exportedAt)}`, style }], Infinity, { baseSize: FOOTER_SIZE });
    const right = PAGE_WIDTH - MARGIN.right;
    // Every element is written before pages are revisited: footers are artifacts only.
    this.tags.close();
    for (let i = start; i < start + count; i++) {
      const page = doc.switchToPage(i);
      this.text.forgetFill();
      // Nothing we draw wraps, but should pdfkit ever check the margin, the footer must
      // not count as overflowing the page and trigger an extra one.
      const bottom = page.margins.bottom;
      page.margins.bottom = 0;
      this.tags.within(PAGINATION, () => {
        for (const line of exported) this.text.drawLine(line, MARGIN.left, FOOTER_TOP);
        const [number] = this.text.layout([{ text: `${i + 1} / ${count}`, style }], Infinity, { baseSize: FOOTER_SIZE });
        if (number) this.text.drawLine(number, right - number.width, FOOTER_TOP);
      });
      this.tags.endMarked();
      page.margins.bottom = bottom;
    }
  }

  // ---- pages and vertical space -------------------------------------------------------

  newPage(): void {
    if (this.started) {
      for (const bar of this.bars) this.drawBar(bar.x, bar.startY, this.y);
    }
    // A marked-content sequence never spans pages.
    this.tags.endPage();
    this.started = true;
    // The page before this one is complete.
    if (this.pages > 0) this.onPages?.(this.pages);
    if (this.stopRequested?.()) throw new RenderStopped();
    this.pages++;
    this.doc.addPage();
    // Each page's content stream starts from the default graphics state.
    this.text.forgetFill();
    this.y = CONTENT_TOP;
    for (const bar of this.bars) bar.startY = CONTENT_TOP;
  }

  atPageTop(): boolean {
    return this.y <= CONTENT_TOP + 0.01;
  }

  /** Starts a new page unless `height` fits below y (or we are at a page top already). */
  ensure(height: number): void {
    if (this.y + height > CONTENT_BOTTOM && !this.atPageTop()) this.newPage();
  }

  /** Vertical space that collapses at the top of a page. */
  private gap(height: number): void {
    if (!this.atPageTop()) this.y += height;
  }

  private drawLines(lines: Line[], box: Box): void {
    for (const line of lines) {
      this.ensure(line.height);
      this.flushMarkers(this.y + line.baseline);
      // A right-to-left paragraph starts at the right edge.
      this.text.drawLine(line, line.rtl ? box.left + box.width - line.width : box.left, this.y);
      this.y += line.height;
    }
  }

  flushMarkers(baselineY: number): void {
    if (this.markers.length === 0) return;
    for (const marker of this.markers) {
      const x = marker.line.rtl ? marker.edge : marker.edge - marker.line.width;
      this.tags.within(marker.tag, () => this.text.drawLine(marker.line, x, baselineY - marker.line.baseline));
      this.tags.finish(marker.tag);
    }
    this.markers = [];
  }

  private bodyBaseline(): number {
    return this.y + BODY_SIZE * 1.02;
  }

  // ---- blocks ---------------------------------------------------------------------------

  private blocks(blocks: Block[], box: Box): void {
    let first = true;
    for (const block of blocks) {
      if (!first) this.gap(box.gap);
      first = false;
      this.block(block, box);
    }
  }

  private block(block: Block, box: Box): void {
    switch (block.type) {
      case 'heading':
        return this.tagged(this.tags.heading(block.level), () => this.heading(block.level, block.content, box));
      case 'paragraph':
        return this.tagged('P', () => this.drawLines(this.inlineLines(block.content, box.width, { size: BODY_SIZE, color: box.color }), box));
      case 'bulletList':
        return this.tagged('L', () => this.list(block.items, undefined, box));
      case 'orderedList':
        return this.tagged('L', () => this.list(block.items, block.start ?? 1, box));
      case 'table':
        return drawTable(this, block, box);
      case 'codeBlock':
        return this.tagged('Code', () => this.codeBlock(block.text, box));
      case 'quote':
        return this.tagged('BlockQuote', () => this.quote(block.content, box));
      case 'divider':
        return this.divider(box);
      case 'pageBreak':
        this.flushMarkers(this.bodyBaseline());
        if (!this.atPageTop()) this.newPage();
        return;
    }
  }

  /** Draws a block as one structure element of `role`. */
  private tagged(role: Role, draw: () => void): void {
    this.tags.begin(role);
    try {
      draw();
    } finally {
      this.tags.end();
    }
  }

  private heading(level: 1 | 2 | 3 | 4 | 5 | 6, content: InlineNode[], box: Box): void {
    const size = HEADING_SIZES[level - 1] ?? BODY_SIZE;
    this.gap(size * 0.5);
    const lines = this.inlineLines(content, box.width, { size, color: box.color, bold: true }, 1.25);
    // Keep the heading with the first lines of what follows it.
    let height = 0;
    for (const line of lines) height += line.height;
    this.ensure(height + BODY_SIZE * 1.35 * 2);
    // Its first line is drawn at y on this page: ensure() above already made room for it.
    this.outline.add(level, this.plainText(content), this.y);
    this.drawLines(lines, box);
    this.y += size * 0.15;
  }

  private list(items: ListItem[], start: number | undefined, box: Box): void {
    const markerStyle = this.style({ font: 'regular', size: BODY_SIZE, color: box.color });
    const markerText = (n: number) => (start === undefined ? BULLETS[box.listDepth % BULLETS.length]! : `${n}.`);
    // Ordered markers align on their right edge, so the widest one sets the indent.
    const widest = start === undefined ? 0 : this.text.naturalWidth([{ text: markerText(start + items.length - 1), style: markerStyle }]);
    let indent = Math.max(LIST_INDENT, widest + 8);
    if (box.width - indent < MIN_BOX_WIDTH) indent = Math.max(0, box.width - MIN_BOX_WIDTH);
    const inner: Box = { ...box, left: box.left + indent, width: box.width - indent, gap: LIST_GAP, listDepth: box.listDepth + 1 };
    // A right-to-left item is the mirror image: indented from the right, its marker right of it.
    const innerRtl: Box = { ...inner, left: box.left };
    let n = start ?? 0;
    let first = true;
    for (const item of items) {
      if (!first) this.gap(LIST_GAP);
      first = false;
      this.tags.begin('LI');
      const rtl = this.startsRightToLeft(item.content);
      const body = rtl ? innerRtl : inner;
      const marker = [{ text: markerText(n), style: markerStyle }];
      // Given the item's direction, bidi orders the marker as a browser shows <ol dir=rtl>'s: ".1".
      const [line] = this.text.layout(rtl ? this.text.tokens(marker, 'rtl') : marker, Infinity, { baseSize: BODY_SIZE });
      // The label is drawn with the item's first line, whatever element that line is in.
      if (line) {
        // On the page even where nesting has left no indent to put it in (the deepest lists).
        const edge = rtl ? Math.min(body.left + body.width + 5, PAGE_WIDTH - line.width) : Math.max(inner.left - 5, line.width);
        this.markers.push({ line, edge, tag: this.tags.child('Lbl') });
      }
      if (item.content.length === 0) {
        this.ensure(BODY_SIZE * 1.35);
        this.flushMarkers(this.bodyBaseline());
        this.y += BODY_SIZE * 1.35;
      } else {
        this.tagged('LBody', () => this.blocks(item.content, body));
      }
      this.tags.end();
      n++;
    }
  }

  private quote(content: Block[], box: Box): void {
    if (content.length === 0) return;
    // Indented less once the box is down to MIN_BOX_WIDTH, but always by the bar's room and
    // never past the box: nested to the deepest level, quotes keyed to a fixed width ran
    // off the page (right to left, off its left edge, where text was lost).
    const indent = Math.min(QUOTE_INDENT, Math.max(QUOTE_BAR_ROOM, box.width - MIN_BOX_WIDTH));
    const width = box.width - indent;
    // Quoting right-to-left text, the bar is on the right and the text indented from it.
    const rtl = this.startsRightToLeft(content);
    const right = box.left + box.width;
    const inner: Box = { ...box, left: rtl ? box.left : box.left + indent, width, color: QUOTE_COLOR };
    this.ensure(BODY_SIZE * 1.35);
    this.bars.push({ x: rtl ? right - 5 : box.left + 2, startY: this.y });
    this.blocks(content, inner);
    const bar = this.bars.pop()!;
    this.drawBar(bar.x, bar.startY, this.y);
  }

  private drawBar(x: number, from: number, to: number): void {
    if (to <= from) return;
    this.tags.decoration();
    this.doc.save().rect(x, from, 3, to - from).fill(QUOTE_BAR_COLOR).restore();
    this.text.forgetFill();
  }

  private divider(box: Box): void {
    this.ensure(14);
    this.flushMarkers(this.bodyBaseline());
    const y = this.y + 7;
    this.tags.decoration();
    this.doc.save().lineWidth(0.75).moveTo(box.left, y).lineTo(box.left + box.width, y).stroke(RULE_COLOR).restore();
    this.y += 14;
  }

  private codeBlock(source: string, box: Box): void {
    const style = this.style({ font: 'mono', size: CODE_SIZE, color: box.color });
    const inner = box.width - CODE_PADDING * 2;
    let sourceLines = expandTabs(source.replace(/\r\n?/g, '\n')).split('\n');
    // A fenced block's closing newline is not an empty last line.
    if (sourceLines.length > 1 && sourceLines[sourceLines.length - 1] === '') sourceLines = sourceLines.slice(0, -1);
    const lines: Line[] = [];
    for (const source of sourceLines) {
      for (const line of this.text.layout([{ text: source, style }], inner, { baseSize: CODE_SIZE, lineHeight: 1.3 })) lines.push(line);
    }
    let i = 0;
    while (i < lines.length) {
      this.ensure(CODE_PADDING * 2 + lines[i]!.height);
      // Fit as many lines as the page holds; always at least one so we make progress.
      const available = CONTENT_BOTTOM - this.y - CODE_PADDING * 2;
      let end = i;
      let height = 0;
      while (end < lines.length && (end === i || height + lines[end]!.height <= available)) {
        height += lines[end]!.height;
        end++;
      }
      this.tags.decoration();
      this.doc.save().rect(box.left, this.y, box.width, height + CODE_PADDING * 2).fill(CODE_BACKGROUND).restore();
      this.text.forgetFill();
      let y = this.y + CODE_PADDING;
      this.flushMarkers(y + lines[i]!.baseline);
      for (let k = i; k < end; k++) {
        this.text.drawLine(lines[k]!, box.left + CODE_PADDING, y);
        y += lines[k]!.height;
      }
      this.y += height + CODE_PADDING * 2;
      i = end;
      if (i < lines.length) this.newPage();
    }
  }

  /**
   * Whether these blocks (a list item's, a quote's) read right to left: their first strong
   * character decides, as a paragraph's does. Code blocks are left out, as the renderer
   * always sets them left to right.
   */
  private startsRightToLeft(blocks: Block[]): boolean {
    return startsRightToLeft(this.plainText([...inlineNodesOf(blocks)]));
  }

  // ---- inline content -------------------------------------------------------------------

  inlineLines(nodes: InlineNode[], width: number, base: BaseStyle, lineHeight?: number): Line[] {
    return this.text.layout(this.inlineRuns(nodes, base), width, lineHeight === undefined ? { baseSize: base.size } : { baseSize: base.size, lineHeight });
  }

  inlineTokens(nodes: InlineNode[], base: BaseStyle): Tokens {
    return this.text.tokens(this.inlineRuns(nodes, base));
  }

  private inlineRuns(nodes: InlineNode[], base: BaseStyle): Run[] {
    const plain = this.style({ font: base.bold ? 'bold' : 'regular', size: base.size, color: base.color });
    const reference = this.style({ font: base.bold ? 'bold' : 'regular', size: base.size, color: REFERENCE_COLOR, underline: true });
    const runs: Run[] = [];
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
          // Unmarked text is in the plain style (markedStyle would intern the same one).
          runs.push({ text: node.text, style: node.marks && node.marks.length > 0 ? this.markedStyle(node.marks, base) : plain });
          break;
        case 'dateTime':
          runs.push({ text: this.format.dateTime(node.timestamp, node.style ?? 'dateTime', node.timezone), style: plain });
          break;
        case 'date':
          runs.push({ text: this.format.calendarDate(node.value), style: plain });
          break;
        case 'number':
          runs.push({ text: this.format.number(node.value, node.maximumFractionDigits), style: plain });
          break;
        case 'objectReference':
          runs.push({ text: node.title || node.objectRid, style: reference });
          break;
        case 'objectSetReference':
          runs.push({ text: node.title || node.objectSetRid, style: reference });
          break;
        case 'parameter':
          runs.push({ text: `{{${node.name}}}`, style: plain });
          break;
      }
    }
    return runs;
  }

  /** The text of inline nodes as drawn, without styles (outline titles). */
  private plainText(nodes: InlineNode[]): string {
    let out = '';
    for (const run of this.inlineRuns(nodes, { size: BODY_SIZE, color: TEXT_COLOR })) out += run.text;
    return out;
  }

  private markedStyle(marks: Mark[] | undefined, base: BaseStyle): RunStyle {
    let bold = base.bold ?? false;
    let italic = false;
    let code = false;
    let link: string | undefined;
    for (const mark of marks ?? []) {
      if (mark.type === 'bold') bold = true;
      else if (mark.type === 'italic') italic = true;
      else if (mark.type === 'code') code = true;
      else if (mark.type === 'link' && LINKABLE.test(mark.href)) link = mark.href;
    }
    const font: FontStyle = code ? 'mono' : bold && italic ? 'boldItalic' : bold ? 'bold' : italic ? 'italic' : 'regular';
    return this.style({
      font,
      // Monospace runs look larger than the text around them at the same size.
      size: code ? base.size * 0.92 : base.size,
      color: link ? LINK_COLOR : base.color,
      link,
      background: code ? INLINE_CODE_BACKGROUND : undefined,
    });
  }

  /** Interned, so adjacent runs with equal styles merge into one drawn fragment. */
  private style(style: RunStyle): RunStyle {
    const key = `${style.font}|${style.size}|${style.color}|${style.link ?? ''}|${style.underline ? 1 : 0}|${style.background ?? ''}`;
    let interned = this.styles.get(key);
    if (!interned) {
      interned = style;
      this.styles.set(key, interned);
    }
    return interned;
  }
}
