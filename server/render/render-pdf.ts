/**
 * Renders the content model to PDF with pdfkit.
 *
 * Pages are buffered (`bufferPages`) because every footer says "n / N" and N is only
 * known at the end. Line breaking and page breaking are ours (see text-layout.ts), so
 * pdfkit only ever draws pre-positioned fragments and never adds a page on its own:
 * every page comes from `BlockRenderer.newPage`.
 */
import { once } from 'node:events';
import PDFDocument from 'pdfkit';
import type { Block, Content, InlineNode, ListItem, Mark, TableCell } from '../contract/content.js';
import { ContentTooLargeError } from './errors.js';
import type { FontStyle } from './fonts.js';
import { InlineFormatter } from './format.js';
import { TextEngine, expandTabs, type Line, type Run, type RunStyle } from './text-layout.js';

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
const TABLE_SIZE = 9.5;
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
const TABLE_BORDER = '#9aa0a6';
const TABLE_HEADER_BACKGROUND = '#e9edf2';

const BLOCK_GAP = 9;
const LIST_GAP = 3;
const LIST_INDENT = 20;
const QUOTE_INDENT = 14;
const MIN_BOX_WIDTH = 120;
const CODE_PADDING = 6;
const CELL_PADDING = 4;
const BULLETS = ['•', '◦', '▪'] as const;
// Only schemes a reader can safely follow become clickable links.
const LINKABLE = /^(https?:|mailto:)/i;

export async function renderPdf(req: RenderRequest): Promise<RenderResult> {
  const maxPages = req.limits?.maxPages;
  const maxBytes = req.limits?.maxBytes;
  const createdAt = new Date(req.exportedAt);
  const doc: Doc = new PDFDocument({
    size: [PAGE_WIDTH, PAGE_HEIGHT],
    margins: MARGIN,
    bufferPages: true,
    autoFirstPage: false,
    pdfVersion: '1.7',
    lang: req.locale,
    displayTitle: true,
    // pdfkit's only non-deterministic inputs are CreationDate (defaults to now) and,
    // derived from the info dictionary, the trailer /ID; pinning the dates fixes both.
    info: { Title: req.title, Producer: PRODUCER, Creator: PRODUCER, CreationDate: createdAt, ModDate: createdAt },
  });

  const sink = new ByteSink();
  let byteCount = 0;
  doc.on('data', (chunk: Uint8Array) => {
    byteCount += chunk.length;
    // Past the limit the output is going to be rejected: stop holding on to it.
    if (maxBytes === undefined || byteCount <= maxBytes) sink.write(chunk);
  });

  // Let the stream start flowing before rendering, which never yields: until Readable has
  // run its first read, every chunk pdfkit pushes is queued inside the stream instead of
  // reaching the sink, and the whole uncompacted output would sit there until the end.
  await new Promise<void>((resolve) => setImmediate(resolve));

  let pageCount = 0;
  let previousPage: unknown;
  doc.on('pageAdded', () => {
    pageCount++;
    // Thrown from inside doc.addPage(), so rendering stops at the first page too many.
    if (maxPages !== undefined && pageCount > maxPages) throw new ContentTooLargeError('pages', maxPages);
    // Finished pages are written out as we go (see sealPageContent), so bytes can stop us early too.
    if (maxBytes !== undefined && byteCount > maxBytes) throw new ContentTooLargeError('bytes', maxBytes);
    if (previousPage) sealPageContent(doc, previousPage);
    previousPage = doc.page;
  });

  const text = new TextEngine(doc);
  const renderer = new BlockRenderer(doc, text, new InlineFormatter(req.locale, req.timezone));
  renderer.render(req.title, req.content);
  renderer.footers(req.exportedAt);

  const ended = once(doc, 'end');
  doc.end();
  await ended;
  if (maxBytes !== undefined && byteCount > maxBytes) throw new ContentTooLargeError('bytes', maxBytes);

  return { pdf: sink.toBytes(), pageCount, missingCodePoints: [...text.missing].sort((a, b) => a - b) };
}

/**
 * Collects pdfkit's output. Its chunks are tiny (one per PDF line) or views that pin far
 * larger buffers (zlib.deflateSync hands back a slice of a 16 KiB block for every page
 * stream), so holding on to them costs many times the PDF's size. Copy them into big
 * segments instead, and join once at the end into an exactly-sized buffer of our own
 * (Buffer.concat may return a slice of Node's shared pool, which must not be transferred
 * out of a worker).
 */
class ByteSink {
  private static readonly SEGMENT = 1 << 20;
  private readonly segments: Uint8Array[] = [];
  private current = new Uint8Array(0);
  private used = 0;
  private total = 0;

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.used === this.current.length) {
        if (this.current.length > 0) this.segments.push(this.current);
        this.current = new Uint8Array(Math.max(ByteSink.SEGMENT, chunk.length - offset));
        this.used = 0;
      }
      const n = Math.min(chunk.length - offset, this.current.length - this.used);
      this.current.set(chunk.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
    }
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let offset = 0;
    for (const segment of this.segments) {
      out.set(segment, offset);
      offset += segment.length;
    }
    out.set(this.current.subarray(0, this.used), offset);
    return out;
  }
}

/**
 * With bufferPages, pdfkit holds every page's content stream (as one small Uint8Array per
 * operator) until the end, which at thousands of pages costs hundreds of MB. Once we have
 * moved past a page, end its stream now (pdfkit deflates and writes it out) and give the
 * page a second, empty stream for the footer; a page's /Contents may be an array of
 * streams, read as their concatenation. pdfkit internals: if they ever change shape, skip.
 */
function sealPageContent(doc: Doc, page: unknown): void {
  const internals = page as { content?: { end?: unknown }; dictionary?: { data?: { Contents?: unknown } } };
  const sealed = internals.content;
  const data = internals.dictionary?.data;
  if (!sealed || typeof sealed.end !== 'function' || !data || data.Contents !== sealed) return;
  const footer = doc.ref({});
  (sealed.end as () => void)();
  internals.content = footer as typeof sealed;
  data.Contents = [sealed, footer];
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
  /** x of the marker's right edge. */
  right: number;
}

class BlockRenderer {
  private y = CONTENT_TOP;
  private started = false;
  /** Left bars of the quotes we are inside, with where each began on the current page. */
  private readonly bars: { x: number; startY: number }[] = [];
  /** List markers waiting for their item's first line, so they share its baseline. */
  private markers: PendingMarker[] = [];
  private readonly styles = new Map<string, RunStyle>();

  constructor(
    private readonly doc: Doc,
    private readonly text: TextEngine,
    private readonly format: InlineFormatter,
  ) {}

  render(title: string, content: Content): void {
    this.newPage();
    const box: Box = { left: MARGIN.left, width: PAGE_WIDTH - MARGIN.left - MARGIN.right, color: TEXT_COLOR, gap: BLOCK_GAP, listDepth: 0 };
    const titleStyle = this.style({ font: 'bold', size: TITLE_SIZE, color: TEXT_COLOR });
    this.drawLines(this.text.layout([{ text: title, style: titleStyle }], box.width, { baseSize: TITLE_SIZE, lineHeight: 1.25 }), box);
    this.y += TITLE_SIZE * 0.6;
    this.blocks(content.blocks, box);
  }

  footers(exportedAt: number): void {
    const doc = this.doc;
    const { start, count } = doc.bufferedPageRange();
    const style = this.style({ font: 'regular', size: FOOTER_SIZE, color: MUTED_COLOR });
    const exported = this.text.layout([{ text: `Exported ${this.format.exportedAt(exportedAt)}`, style }], Infinity, { baseSize: FOOTER_SIZE });
    const right = PAGE_WIDTH - MARGIN.right;
    for (let i = start; i < start + count; i++) {
      const page = doc.switchToPage(i);
      this.text.forgetFill();
      // Nothing we draw wraps, but should pdfkit ever check the margin, the footer must
      // not count as overflowing the page and trigger an extra one.
      const bottom = page.margins.bottom;
      page.margins.bottom = 0;
      for (const line of exported) this.text.drawLine(line, MARGIN.left, FOOTER_TOP);
      const [number] = this.text.layout([{ text: `${i + 1} / ${count}`, style }], Infinity, { baseSize: FOOTER_SIZE });
      if (number) this.text.drawLine(number, right - number.width, FOOTER_TOP);
      page.margins.bottom = bottom;
    }
  }

  // ---- pages and vertical space -------------------------------------------------------

  private newPage(): void {
    if (this.started) {
      for (const bar of this.bars) this.drawBar(bar.x, bar.startY, this.y);
    }
    this.started = true;
    this.doc.addPage();
    // Each page's content stream starts from the default graphics state.
    this.text.forgetFill();
    this.y = CONTENT_TOP;
    for (const bar of this.bars) bar.startY = CONTENT_TOP;
  }

  private atPageTop(): boolean {
    return this.y <= CONTENT_TOP + 0.01;
  }

  /** Starts a new page unless `height` fits below y (or we are at a page top already). */
  private ensure(height: number): void {
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
      this.text.drawLine(line, box.left, this.y);
      this.y += line.height;
    }
  }

  private flushMarkers(baselineY: number): void {
    if (this.markers.length === 0) return;
    for (const marker of this.markers) {
      this.text.drawLine(marker.line, marker.right - marker.line.width, baselineY - marker.line.baseline);
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
        return this.heading(block.level, block.content, box);
      case 'paragraph':
        return this.drawLines(this.inlineLines(block.content, box.width, { size: BODY_SIZE, color: box.color }), box);
      case 'bulletList':
        return this.list(block.items, undefined, box);
      case 'orderedList':
        return this.list(block.items, block.start ?? 1, box);
      case 'table':
        return this.table(block.header, block.rows, box);
      case 'codeBlock':
        return this.codeBlock(block.text, box);
      case 'quote':
        return this.quote(block.content, box);
      case 'divider':
        return this.divider(box);
      case 'pageBreak':
        this.flushMarkers(this.bodyBaseline());
        if (!this.atPageTop()) this.newPage();
        return;
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
    let n = start ?? 0;
    let first = true;
    for (const item of items) {
      if (!first) this.gap(LIST_GAP);
      first = false;
      const [line] = this.text.layout([{ text: markerText(n), style: markerStyle }], Infinity, { baseSize: BODY_SIZE });
      if (line) this.markers.push({ line, right: inner.left - 5 });
      if (item.content.length === 0) {
        this.ensure(BODY_SIZE * 1.35);
        this.flushMarkers(this.bodyBaseline());
        this.y += BODY_SIZE * 1.35;
      } else {
        this.blocks(item.content, inner);
      }
      n++;
    }
  }

  private quote(content: Block[], box: Box): void {
    if (content.length === 0) return;
    const inner: Box = { ...box, left: box.left + QUOTE_INDENT, width: Math.max(box.width - QUOTE_INDENT, MIN_BOX_WIDTH), color: QUOTE_COLOR };
    this.ensure(BODY_SIZE * 1.35);
    this.bars.push({ x: box.left + 2, startY: this.y });
    this.blocks(content, inner);
    const bar = this.bars.pop()!;
    this.drawBar(bar.x, bar.startY, this.y);
  }

  private drawBar(x: number, from: number, to: number): void {
    if (to <= from) return;
    this.doc.save().rect(x, from, 3, to - from).fill(QUOTE_BAR_COLOR).restore();
    this.text.forgetFill();
  }

  private divider(box: Box): void {
    this.ensure(14);
    this.flushMarkers(this.bodyBaseline());
    const y = this.y + 7;
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

  private table(header: TableCell[], rows: TableCell[][], box: Box): void {
    let columns = header.length;
    for (const row of rows) columns = Math.max(columns, row.length);
    if (columns === 0) return;
    const columnWidth = box.width / columns;
    const cellWidth = Math.max(columnWidth - CELL_PADDING * 2, 1);
    const layoutRow = (cells: TableCell[], bold: boolean): Line[][] => {
      const out: Line[][] = [];
      for (let c = 0; c < columns; c++) {
        out.push(this.inlineLines(cells[c]?.content ?? [], cellWidth, { size: TABLE_SIZE, color: box.color, bold }));
      }
      return out;
    };
    const heightOf = (cells: Line[][]): number => {
      let max = 0;
      for (const lines of cells) {
        let h = 0;
        for (const line of lines) h += line.height;
        max = Math.max(max, h);
      }
      return max + CELL_PADDING * 2;
    };

    const headerCells = header.length > 0 ? layoutRow(header, true) : undefined;
    const headerHeight = headerCells ? heightOf(headerCells) : 0;
    const pageHeight = CONTENT_BOTTOM - CONTENT_TOP;
    // A header taller than a third of a page is drawn once rather than eating every page.
    const repeatHeader = headerCells !== undefined && headerHeight < pageHeight / 3;
    const drawHeader = () => {
      if (headerCells) this.drawRow(headerCells, headerHeight, box, columnWidth, TABLE_HEADER_BACKGROUND);
    };
    const continuePage = () => {
      this.newPage();
      if (repeatHeader) drawHeader();
    };

    let rowIndex = 0;
    let firstCells = rows[0] ? layoutRow(rows[0], false) : undefined;
    // The header never ends up alone at the bottom of a page.
    this.ensure(headerHeight + (firstCells ? Math.min(heightOf(firstCells), pageHeight / 2) : 0));
    this.flushMarkers(this.y + CELL_PADDING + TABLE_SIZE * 1.02);
    drawHeader();

    for (const row of rows) {
      const cells = rowIndex === 0 && firstCells ? firstCells : layoutRow(row, false);
      firstCells = undefined;
      rowIndex++;
      const height = heightOf(cells);
      if (this.y + height <= CONTENT_BOTTOM) {
        this.drawRow(cells, height, box, columnWidth, undefined);
      } else if (height <= pageHeight - (repeatHeader ? headerHeight : 0)) {
        continuePage();
        this.drawRow(cells, height, box, columnWidth, undefined);
      } else {
        this.splitRow(cells, box, columnWidth, continuePage);
      }
    }
  }

  private drawRow(cells: Line[][], height: number, box: Box, columnWidth: number, background: string | undefined): void {
    const doc = this.doc;
    const top = this.y;
    if (background) {
      doc.save().rect(box.left, top, box.width, height).fill(background).restore();
      this.text.forgetFill();
    }
    for (let c = 0; c < cells.length; c++) {
      let y = top + CELL_PADDING;
      for (const line of cells[c]!) {
        this.text.drawLine(line, box.left + c * columnWidth + CELL_PADDING, y);
        y += line.height;
      }
    }
    doc.save().lineWidth(0.5).strokeColor(TABLE_BORDER);
    doc.rect(box.left, top, box.width, height);
    for (let c = 1; c < cells.length; c++) {
      doc.moveTo(box.left + c * columnWidth, top).lineTo(box.left + c * columnWidth, top + height);
    }
    doc.stroke().restore();
    this.y += height;
  }

  /** A row taller than a page: each cell flows its lines over as many pages as needed. */
  private splitRow(cells: Line[][], box: Box, columnWidth: number, continuePage: () => void): void {
    const next = cells.map(() => 0);
    const remaining = () => cells.some((lines, c) => next[c]! < lines.length);
    while (remaining()) {
      const available = CONTENT_BOTTOM - this.y - CELL_PADDING * 2;
      const chunk: Line[][] = [];
      let fitsAny = false;
      for (let c = 0; c < cells.length; c++) {
        const lines = cells[c]!;
        const taken: Line[] = [];
        let height = 0;
        let k = next[c]!;
        while (k < lines.length && height + lines[k]!.height <= available) {
          height += lines[k]!.height;
          taken.push(lines[k]!);
          k++;
        }
        if (taken.length > 0) fitsAny = true;
        chunk.push(taken);
      }
      if (!fitsAny) {
        if (this.atPageTop()) {
          // A single line taller than a page: draw it anyway rather than loop forever.
          for (let c = 0; c < cells.length; c++) {
            const line = cells[c]![next[c]!];
            if (line) chunk[c] = [line];
          }
        } else {
          continuePage();
          continue;
        }
      }
      for (let c = 0; c < cells.length; c++) next[c]! += chunk[c]!.length;
      let height = 0;
      for (const lines of chunk) height = Math.max(height, lines.reduce((sum, line) => sum + line.height, 0));
      this.drawRow(chunk, height + CELL_PADDING * 2, box, columnWidth, undefined);
      if (remaining()) continuePage();
    }
  }

  // ---- inline content -------------------------------------------------------------------

  private inlineLines(nodes: InlineNode[], width: number, base: BaseStyle, lineHeight?: number): Line[] {
    return this.text.layout(this.inlineRuns(nodes, base), width, lineHeight === undefined ? { baseSize: base.size } : { baseSize: base.size, lineHeight });
  }

  private inlineRuns(nodes: InlineNode[], base: BaseStyle): Run[] {
    const plain = this.style({ font: base.bold ? 'bold' : 'regular', size: base.size, color: base.color });
    const reference = this.style({ font: base.bold ? 'bold' : 'regular', size: base.size, color: REFERENCE_COLOR, underline: true });
    const runs: Run[] = [];
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
          runs.push({ text: node.text, style: this.markedStyle(node.marks, base) });
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
