/**
 * Tables: equal-width columns, a header row repeated on each page the table continues on
 * (unless it is too tall to be worth it), rows kept whole on a page when they fit, and a
 * row taller than a page flowed cell by cell over as many pages as it needs.
 */
import type PDFDocument from 'pdfkit';
import type { InlineNode, TableCell } from '../contract/content.js';
import type { Line, TextEngine } from './text-layout.js';

type Doc = InstanceType<typeof PDFDocument>;

const TABLE_SIZE = 9.5;
const CELL_PADDING = 4;
const TABLE_BORDER = '#9aa0a6';
const TABLE_HEADER_BACKGROUND = '#e9edf2';

/** What a table needs from the page flow it is drawn into (the block renderer). */
export interface TableFlow {
  readonly doc: Doc;
  readonly text: TextEngine;
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
  inlineLines(nodes: InlineNode[], width: number, base: { size: number; color: string; bold?: boolean }): Line[];
}

export interface TableBox {
  left: number;
  width: number;
  color: string;
}

export function drawTable(flow: TableFlow, header: TableCell[], rows: TableCell[][], box: TableBox): void {
  let columns = header.length;
  for (const row of rows) columns = Math.max(columns, row.length);
  if (columns === 0) return;
  const columnWidth = box.width / columns;
  const cellWidth = Math.max(columnWidth - CELL_PADDING * 2, 1);
  const layoutRow = (cells: TableCell[], bold: boolean): Line[][] => {
    const out: Line[][] = [];
    for (let c = 0; c < columns; c++) {
      out.push(flow.inlineLines(cells[c]?.content ?? [], cellWidth, { size: TABLE_SIZE, color: box.color, bold }));
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
  const pageHeight = flow.contentBottom - flow.contentTop;
  // A header taller than a third of a page is drawn once rather than eating every page.
  const repeatHeader = headerCells !== undefined && headerHeight < pageHeight / 3;
  const drawHeader = () => {
    if (headerCells) drawRow(flow, headerCells, headerHeight, box, columnWidth, TABLE_HEADER_BACKGROUND);
  };
  const continuePage = () => {
    flow.newPage();
    if (repeatHeader) drawHeader();
  };

  let rowIndex = 0;
  let firstCells = rows[0] ? layoutRow(rows[0], false) : undefined;
  // The header never ends up alone at the bottom of a page.
  flow.ensure(headerHeight + (firstCells ? Math.min(heightOf(firstCells), pageHeight / 2) : 0));
  flow.flushMarkers(flow.y + CELL_PADDING + TABLE_SIZE * 1.02);
  drawHeader();

  for (const row of rows) {
    const cells = rowIndex === 0 && firstCells ? firstCells : layoutRow(row, false);
    firstCells = undefined;
    rowIndex++;
    const height = heightOf(cells);
    if (flow.y + height <= flow.contentBottom) {
      drawRow(flow, cells, height, box, columnWidth, undefined);
    } else if (height <= pageHeight - (repeatHeader ? headerHeight : 0)) {
      continuePage();
      drawRow(flow, cells, height, box, columnWidth, undefined);
    } else {
      splitRow(flow, cells, box, columnWidth, continuePage);
    }
  }
}

function drawRow(flow: TableFlow, cells: Line[][], height: number, box: TableBox, columnWidth: number, background: string | undefined): void {
  const doc = flow.doc;
  const top = flow.y;
  if (background) {
    doc.save().rect(box.left, top, box.width, height).fill(background).restore();
    flow.text.forgetFill();
  }
  for (let c = 0; c < cells.length; c++) {
    let y = top + CELL_PADDING;
    for (const line of cells[c]!) {
      flow.text.drawLine(line, box.left + c * columnWidth + CELL_PADDING, y);
      y += line.height;
    }
  }
  doc.save().lineWidth(0.5).strokeColor(TABLE_BORDER);
  doc.rect(box.left, top, box.width, height);
  for (let c = 1; c < cells.length; c++) {
    doc.moveTo(box.left + c * columnWidth, top).lineTo(box.left + c * columnWidth, top + height);
  }
  doc.stroke().restore();
  flow.y += height;
}

/** A row taller than a page: each cell flows its lines over as many pages as needed. */
function splitRow(flow: TableFlow, cells: Line[][], box: TableBox, columnWidth: number, continuePage: () => void): void {
  const next = cells.map(() => 0);
  const remaining = () => cells.some((lines, c) => next[c]! < lines.length);
  while (remaining()) {
    const available = flow.contentBottom - flow.y - CELL_PADDING * 2;
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
      if (flow.atPageTop()) {
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
    drawRow(flow, chunk, height + CELL_PADDING * 2, box, columnWidth, undefined);
    if (remaining()) continuePage();
  }
}
