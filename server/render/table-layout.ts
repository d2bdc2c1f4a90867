/**
 * Tables: columns sized from their content (see columnWidths), text aligned per column
 * (numbers to the right unless the column says otherwise), a header row repeated on each
 * page the table continues on (unless it is too tall to be worth it), rows kept whole on a
 * page when they fit, and a row taller than a page flowed cell by cell over as many pages
 * as it needs.
 *
 * Tagged as Table > THead > TR > TH (scope Column) and Table > TBody > TR > TD; a header
 * repeated on a continuation page is an artifact, so readers meet each header cell once,
 * and a row split over pages stays one TR whose cells continue on the next page.
 */
import type PDFDocument from 'pdfkit';
import type { Block, ColumnAlign, InlineNode, TableCell } from '../contract/content.js';
import { LAYOUT, type Structure, type Tag } from './structure.js';
import type { Line, TextEngine, Tokens } from './text-layout.js';

type Doc = InstanceType<typeof PDFDocument>;

const TABLE_SIZE = 9.5;
const CELL_PADDING = 4;
const TABLE_BORDER = '#9aa0a6';
const TABLE_HEADER_BACKGROUND = '#e9edf2';

/** What a table needs from the page flow it is drawn into (the block renderer). */
export interface TableFlow {
  readonly doc: Doc;
  readonly text: TextEngine;
  readonly tags: Structure;
  /** Where the next thing is drawn, in points from the top of the current page. */
  y: number;
  /** Where content starts and ends on every page. */
  readonly contentTop: number;
  readonly contentBottom: number;
  /** Starts a new page unless `height` fits below y (or we are at a page top already). */
  ensure(height: number): void;
  newPage(): void;
  atPageTop(): boolean;
  /** Draws list markers waiting for their item's first line at that baseline. */
  flushMarkers(baselineY: number): void;
  /** Inline content as measured tokens, for TextEngine.extent (column widths) and TextEngine.layout. */
  inlineTokens(nodes: InlineNode[], base: { size: number; color: string; bold?: boolean }): Tokens;
}

type Table = Extract<Block, { type: 'table' }>;
// 'start': the side a line's paragraph starts on, left, or right for right-to-left text.
type Align = Exclude<ColumnAlign, null> | 'start';

/** A cell laid out: its lines and where they sit in the cell. */
interface CellLines {
  lines: Line[];
  align: Align;
}

interface Column {
  /** Left edge, from the table's left. */
  x: number;
  width: number;
}

export interface TableBox {
  left: number;
  width: number;
  color: string;
}

export function drawTable(flow: TableFlow, table: Table, box: TableBox): void {
  const { header, rows } = table;
  let count = header.length;
  for (const row of rows) count = Math.max(count, row.length);
  if (count === 0) return;
  const tokenize = (cells: TableCell[], bold: boolean): Tokens[] =>
    Array.from({ length: count }, (_, c) => flow.inlineTokens(cells[c]?.content ?? [], { size: TABLE_SIZE, color: box.color, bold }));
  // Cells are tokenized to be measured and again to be laid out: holding every cell's
  // tokens from one pass to the other costs more (in garbage collection) than redoing them.
  // A table with more distinct words than the layout caches hold (a few thousand) is shaped
  // twice, as the measuring pass evicts its first words before they are drawn.
  const columns = layoutColumns(flow.text, tokenize(header, true), rows, (row) => tokenize(row, false), count, box.width);
  const layoutRow = (cells: TableCell[], bold: boolean): CellLines[] => {
    const tokens = tokenize(cells, bold);
    const out: CellLines[] = [];
    for (let c = 0; c < count; c++) {
      const lines = flow.text.layout(tokens[c]!, Math.max(columns[c]!.width - CELL_PADDING * 2, 1), { baseSize: TABLE_SIZE });
      out.push({ lines, align: cellAlign(table.align?.[c] ?? null, cells[c]?.content ?? [], bold) });
    }
    return out;
  };
  const heightOf = (cells: CellLines[]): number => {
    let max = 0;
    for (const { lines } of cells) {
      let h = 0;
      for (const line of lines) h += line.height;
      max = Math.max(max, h);
    }
    return max + CELL_PADDING * 2;
  };

  const tags = flow.tags;
  /** A row's TR, current until closed, and its cells, children drawn through tags.within. */
  const openRow = (role: 'TH' | 'TD'): Tag[] => {
    tags.begin('TR');
    return Array.from({ length: count }, () => tags.child(role, role === 'TH' ? { scope: 'Column' } : undefined));
  };
  const closeRow = (cellTags: Tag[]) => {
    for (const tag of cellTags) tags.finish(tag);
    tags.end();
  };

  const headerCells = header.length > 0 ? layoutRow(header, true) : undefined;
  const headerHeight = headerCells ? heightOf(headerCells) : 0;
  const pageHeight = flow.contentBottom - flow.contentTop;
  // A header taller than a third of a page is drawn once rather than eating every page.
  const repeatHeader = headerCells !== undefined && headerHeight < pageHeight / 3;
  const continuePage = () => {
    flow.newPage();
    if (repeatHeader && headerCells) drawRow(flow, headerCells, headerHeight, box, columns, TABLE_HEADER_BACKGROUND, undefined);
  };

  let rowIndex = 0;
  let firstCells = rows[0] ? layoutRow(rows[0], false) : undefined;
  // The header never ends up alone at the bottom of a page.
  flow.ensure(headerHeight + (firstCells ? Math.min(heightOf(firstCells), pageHeight / 2) : 0));
  flow.flushMarkers(flow.y + CELL_PADDING + TABLE_SIZE * 1.02);
  tags.begin('Table');
  if (headerCells) {
    tags.begin('THead');
    const cellTags = openRow('TH');
    drawRow(flow, headerCells, headerHeight, box, columns, TABLE_HEADER_BACKGROUND, cellTags);
    closeRow(cellTags);
    tags.end();
  }
  tags.begin('TBody');

  for (const row of rows) {
    const cells = rowIndex === 0 && firstCells ? firstCells : layoutRow(row, false);
    firstCells = undefined;
    rowIndex++;
    const height = heightOf(cells);
    const cellTags = openRow('TD');
    if (flow.y + height <= flow.contentBottom) {
      drawRow(flow, cells, height, box, columns, undefined, cellTags);
    } else if (height <= pageHeight - (repeatHeader ? headerHeight : 0)) {
      continuePage();
      drawRow(flow, cells, height, box, columns, undefined, cellTags);
    } else {
      splitRow(flow, cells, box, columns, continuePage, cellTags);
    }
    closeRow(cellTags);
  }
  tags.end();
  tags.end();
}

/**
 * Column widths like a browser's automatic table layout, for a table as wide as its box.
 * Each column gets at least its min-content width (its widest unbreakable word) and wants
 * its max-content width (its widest cell unwrapped).
 *
 * - If every column can have what it wants, the width left over is shared in proportion
 *   to those wants.
 * - Otherwise, columns that want no more than an equal share of the width still free get
 *   all they want (so a short "Qty" column never wraps because a notes column is long),
 *   as long as the others keep their minimums; the rest get their minimum plus a share of
 *   what remains in proportion to how much more they want, as browsers share it.
 * - Minimums that do not fit together are scaled down (their words then break between
 *   characters).
 *
 * Widths include the cells' padding.
 */
export function columnWidths(wants: ReadonlyArray<{ min: number; max: number }>, width: number): number[] {
  const n = wants.length;
  const min = wants.map((want) => want.min);
  const max = wants.map((want) => Math.max(want.max, want.min));
  const sum = (values: number[], which: number[]) => which.reduce((total, c) => total + values[c]!, 0);
  const all = [...Array(n).keys()];
  const maxSum = sum(max, all);
  if (maxSum <= width) return all.map((c) => (maxSum > 0 ? (max[c]! * width) / maxSum : width / n));

  const out = new Array<number>(n).fill(0);
  let free = all;
  let left = width;
  for (;;) {
    const share = left / free.length;
    const freeMin = sum(min, free);
    const fits = free.filter((c) => max[c]! <= share && left - max[c]! >= freeMin - min[c]!);
    if (fits.length === 0 || fits.length === free.length) break;
    for (const c of fits) {
      out[c] = max[c]!;
      left -= max[c]!;
    }
    free = free.filter((c) => !fits.includes(c));
  }
  const minSum = sum(min, free);
  const wanted = sum(max, free) - minSum;
  for (const c of free) {
    if (minSum >= left) out[c] = minSum > 0 ? (min[c]! * left) / minSum : left / free.length;
    else out[c] = min[c]! + (wanted > 0 ? ((max[c]! - min[c]!) * (left - minSum)) / wanted : (left - minSum) / free.length);
  }
  return out;
}

function layoutColumns(
  text: TextEngine,
  header: Tokens[],
  rows: TableCell[][],
  tokenize: (row: TableCell[]) => Tokens[],
  count: number,
  width: number,
): Column[] {
  const wants = Array.from({ length: count }, () => ({ min: CELL_PADDING * 2, max: CELL_PADDING * 2 }));
  const measure = (cells: Tokens[]) => {
    for (let c = 0; c < count; c++) {
      const { min, max } = text.extent(cells[c]!);
      const want = wants[c]!;
      want.min = Math.max(want.min, min + CELL_PADDING * 2);
      want.max = Math.max(want.max, max + CELL_PADDING * 2);
    }
  };
  measure(header);
  for (const row of rows) measure(tokenize(row));
  const widths = columnWidths(wants, width);
  const columns: Column[] = [];
  let x = 0;
  for (let c = 0; c < count; c++) {
    // The last column ends exactly at the table's right edge, whatever the rounding.
    const w = c === count - 1 ? width - x : widths[c]!;
    columns.push({ x, width: w });
    x += w;
  }
  return columns;
}

/** The column's alignment if it has one; else numbers to the right and everything else at its start. */
function cellAlign(column: ColumnAlign, content: InlineNode[], header: boolean): Align {
  if (column !== null) return column;
  if (header) return 'start';
  let numbers = 0;
  for (const node of content) {
    if (node.type === 'number') numbers++;
    else if (node.type !== 'text' || node.text.trim() !== '') return 'start';
  }
  return numbers > 0 ? 'right' : 'start';
}

/** Draws a row; `cellTags` are its cells' elements, or undefined for a repeated header (an artifact). */
function drawRow(
  flow: TableFlow,
  cells: CellLines[],
  height: number,
  box: TableBox,
  columns: Column[],
  background: string | undefined,
  cellTags: Tag[] | undefined,
): void {
  const doc = flow.doc;
  const top = flow.y;
  const tags = flow.tags;
  if (background) {
    tags.decoration();
    doc.save().rect(box.left, top, box.width, height).fill(background).restore();
    flow.text.forgetFill();
  }
  for (let c = 0; c < cells.length; c++) {
    const { lines, align } = cells[c]!;
    const column = columns[c]!;
    const inner = column.width - CELL_PADDING * 2;
    let y = top + CELL_PADDING;
    tags.within(cellTags?.[c] ?? LAYOUT, () => {
      for (const line of lines) {
        const side = align === 'start' ? (line.rtl ? 'right' : 'left') : align;
        const offset = side === 'left' ? 0 : Math.max(inner - line.width, 0) / (side === 'center' ? 2 : 1);
        flow.text.drawLine(line, box.left + column.x + CELL_PADDING + offset, y);
        y += line.height;
      }
    });
  }
  tags.decoration();
  doc.save().lineWidth(0.5).strokeColor(TABLE_BORDER);
  doc.rect(box.left, top, box.width, height);
  for (let c = 1; c < cells.length; c++) {
    const x = box.left + columns[c]!.x;
    doc.moveTo(x, top).lineTo(x, top + height);
  }
  doc.stroke().restore();
  flow.y += height;
}

/** A row taller than a page: each cell flows its lines over as many pages as needed. */
function splitRow(flow: TableFlow, cells: CellLines[], box: TableBox, columns: Column[], continuePage: () => void, cellTags: Tag[]): void {
  const next = cells.map(() => 0);
  const remaining = () => cells.some(({ lines }, c) => next[c]! < lines.length);
  while (remaining()) {
    const available = flow.contentBottom - flow.y - CELL_PADDING * 2;
    const chunk: CellLines[] = [];
    let fitsAny = false;
    for (let c = 0; c < cells.length; c++) {
      const { lines, align } = cells[c]!;
      const taken: Line[] = [];
      let height = 0;
      let k = next[c]!;
      while (k < lines.length && height + lines[k]!.height <= available) {
        height += lines[k]!.height;
        taken.push(lines[k]!);
        k++;
      }
      if (taken.length > 0) fitsAny = true;
      chunk.push({ lines: taken, align });
    }
    if (!fitsAny) {
      if (flow.atPageTop()) {
        // A single line taller than a page: draw it anyway rather than loop forever.
        for (let c = 0; c < cells.length; c++) {
          const line = cells[c]!.lines[next[c]!];
          if (line) chunk[c]!.lines = [line];
        }
      } else {
        continuePage();
        continue;
      }
    }
    for (let c = 0; c < cells.length; c++) next[c]! += chunk[c]!.lines.length;
    let height = 0;
    for (const { lines } of chunk) height = Math.max(height, lines.reduce((sum, line) => sum + line.height, 0));
    drawRow(flow, chunk, height + CELL_PADDING * 2, box, columns, undefined, cellTags);
    if (remaining()) continuePage();
  }
}
