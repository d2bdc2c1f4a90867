import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { columnWidths } from '../server/render/table-layout.js';
import { readPdf, squash, type OutlineEntry } from './render-pdf-text.js';

// The document's structure for readers and archives: outline, metadata, footer language,
// table columns. Everything is read back from the PDF with pdfjs.

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 0);
const text = (t: string): InlineNode => ({ type: 'text', text: t });
const para = (t: string): Block => ({ type: 'paragraph', content: [text(t)] });
const heading = (level: 1 | 2 | 3 | 4 | 5 | 6, t: string): Block => ({ type: 'heading', level, content: [text(t)] });

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Structure test', content, locale: 'en-US', timezone: 'UTC', exportedAt: EXPORTED_AT, ...overrides };
}

/** Titles and pages only, for comparing whole trees. */
const shape = (entries: OutlineEntry[]): unknown[] => entries.map((e) => (e.children.length ? [e.title, e.page, shape(e.children)] : [e.title, e.page]));

describe('outline', () => {
  const filler = Array.from({ length: 40 }, (_, i) => para(`Filler paragraph ${i} with enough words to take a line of its own.`));
  const content: Content = {
    blocks: [
      heading(2, 'Preface'),
      para('Before the first chapter.'),
      heading(1, 'Chapter one'),
      heading(2, 'Section 1.1'),
      heading(3, 'Part 1.1.a'),
      para('Some text.'),
      heading(3, 'Part 1.1.b'),
      { type: 'pageBreak' },
      heading(2, 'Section 1.2'),
      heading(4, 'Deep under 1.2'), // a skipped level nests one step deeper
      ...filler,
      heading(1, 'Chapter two: Ωμέγα 日本語'),
      { type: 'bulletList', items: [{ content: [heading(3, 'Heading in a list')] }] },
      { type: 'heading', level: 2, content: [text('Total '), { type: 'number', value: 1234.5 }] },
      { type: 'heading', level: 2, content: [] }, // nothing to show: no entry
    ],
  };

  it('has an entry per heading, nested by level, each opening at its heading on its page', async () => {
    const result = await renderPdf(request(content));
    const pdf = await readPdf(result.pdf);
    expect(pdf.numPages).toBe(3);
    expect(shape(pdf.outline)).toEqual([
      ['Preface', 0],
      [
        'Chapter one',
        0,
        [
          ['Section 1.1', 0, [['Part 1.1.a', 0], ['Part 1.1.b', 0]]],
          ['Section 1.2', 1, [['Deep under 1.2', 1]]],
        ],
      ],
      ['Chapter two: Ωμέγα 日本語', 2, [['Heading in a list', 2], ['Total 1,234.5', 2]]],
    ]);

    // Each destination is XYZ at the left edge and the heading's top, zoom unchanged: the
    // heading's baseline sits just below that top.
    const all: OutlineEntry[] = [];
    const walk = (entries: OutlineEntry[]) => entries.forEach((e) => (all.push(e), walk(e.children)));
    walk(pdf.outline);
    for (const entry of all) {
      const [kind, left, top, zoom] = entry.dest as [string, number, number, number | null];
      expect(kind).toBe('XYZ');
      expect(left).toBe(0);
      expect(zoom).toBeNull();
      // The item the heading starts with (pdfjs splits a line where the font changes).
      const item = pdf.items[entry.page]!.find((i) => i.str.trim().length >= 5 && entry.title.startsWith(i.str.trim()) && i.y > 60);
      expect(item, entry.title).toBeDefined();
      expect(top - item!.y, entry.title).toBeGreaterThan(5);
      expect(top - item!.y, entry.title).toBeLessThan(25);
    }
    // Further down the page, lower in user space.
    const [, , first] = all.find((e) => e.title === 'Part 1.1.a')!.dest as number[];
    const [, , second] = all.find((e) => e.title === 'Part 1.1.b')!.dest as number[];
    expect(first!).toBeGreaterThan(second!);
  });

  it('is absent from a document without headings, and deterministic', async () => {
    const plain = await readPdf((await renderPdf(request({ blocks: [para('No headings here.')] }))).pdf);
    expect(plain.outline).toEqual([]);
    const a = await renderPdf(request(content));
    const b = await renderPdf(structuredClone(request(content)));
    expect(Buffer.from(a.pdf).equals(Buffer.from(b.pdf))).toBe(true);
  });
});

describe('metadata', () => {
  const content: Content = { blocks: [para('Body.')] };

  it('titles the document and shows the title as the window title', async () => {
    const pdf = await readPdf((await renderPdf(request(content, { title: 'Quarterly report — Ωμέγα 日本' }))).pdf);
    expect(pdf.info.Title).toBe('Quarterly report — Ωμέγα 日本');
    expect(pdf.viewerPreferences).toMatchObject({ DisplayDocTitle: true });
  });

  it('claims the export locale as the document language, canonicalized; none for und', async () => {
    const language = async (locale: string) => (await readPdf((await renderPdf(request(content, { locale }))).pdf)).info.Language ?? null;
    expect(await language('de-DE')).toBe('de-DE');
    expect(await language('ja')).toBe('ja');
    expect(await language('zh-hant-tw')).toBe('zh-Hant-TW');
    expect(await language('und')).toBeNull();
    expect(await language('und-US')).toBeNull();
    expect(await language('not a locale')).toBeNull();
  });

  it('dates the document at the export time, so a re-render is byte-identical', async () => {
    const req = request(content, { exportedAt: Date.UTC(2025, 0, 2, 3, 4, 5) });
    const result = await renderPdf(req);
    const pdf = await readPdf(result.pdf);
    expect(pdf.info.CreationDate).toBe('D:20250102030405Z');
    expect(pdf.info.ModDate).toBe('D:20250102030405Z');
    const again = await renderPdf(structuredClone(req));
    expect(Buffer.from(again.pdf).equals(Buffer.from(result.pdf))).toBe(true);
  });
});

describe('footer language', () => {
  const exportedAt = (locale: string, timeZone: string) =>
    new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone }).format(EXPORTED_AT);
  const footerOf = async (locale: string, timezone = 'UTC') => {
    const result = await renderPdf(request({ blocks: [para('Body.'), { type: 'pageBreak' }, para('Second page.')] }, { locale, timezone }));
    expect(result.missingCodePoints).toEqual([]);
    return (await readPdf(result.pdf)).pages.map(squash);
  };

  it.each([
    ['en-GB', 'Exported'],
    ['de-AT', 'Exportiert am'],
    ['fr-CA', 'Exporté le'],
    ['es-MX', 'Exportado el'],
    ['it-IT', 'Esportato il'],
    ['pt-BR', 'Exportado em'],
    ['nl-BE', 'Geëxporteerd op'],
    ['pl-PL', 'Wyeksportowano'],
    ['ru-RU', 'Экспортировано'],
    ['ja-JP', 'エクスポート日時'],
    ['zh-CN', '导出时间'],
    ['ko-KR', '내보낸 시간'],
    ['ar-EG', 'تاريخ التصدير'],
    ['he-IL', 'תאריך ייצוא'],
    // Languages without a label of their own, and no language at all.
    ['sv-SE', 'Exported'],
    ['und', 'Exported'],
  ])('%s: "%s" and the Intl-formatted export time on every page', async (locale, label) => {
    const pages = await footerOf(locale, 'Europe/Berlin');
    expect(pages).toHaveLength(2);
    for (const page of pages) {
      if (locale === 'ar-EG' || locale === 'he-IL') {
        // Label and date in logical order. pdfjs drops the space where the direction
        // changes (test/render-scripts.test.ts), and Intl's bidi marks are invisible.
        const bare = (s: string) => s.replace(/[\s\u200e\u200f\u061c]/g, '');
        expect(bare(page)).toContain(bare(`${label} ${exportedAt(locale, 'Europe/Berlin')}`));
      } else expect(page).toContain(squash(`${label} ${exportedAt(locale, 'Europe/Berlin')}`));
    }
  });

  it('uses the language subtag whatever the case or region, and English for a locale Intl cannot use', async () => {
    expect((await footerOf('DE-ch'))[0]).toContain(squash(`Exportiert am ${exportedAt('de-CH', 'UTC')}`));
    expect((await footerOf('zh-Hant-TW'))[0]).toContain(squash(`导出时间 ${exportedAt('zh-Hant-TW', 'UTC')}`));
    expect((await footerOf('not a locale'))[0]).toContain(squash(`Exported ${exportedAt('en-US', 'UTC')}`));
  });
});

describe('tables', () => {
  const cell = (t: string) => ({ content: [text(t)] });
  const num = (value: number) => ({ content: [{ type: 'number', value } as InlineNode] });
  const TABLE_RIGHT = 595.28 - 56; // the page's right margin
  const items = async (content: Content) => (await readPdf((await renderPdf(request(content))).pdf)).items[0]!;
  const find = (list: Awaited<ReturnType<typeof items>>, str: string) => {
    const found = list.find((i) => i.str.trim() === str);
    if (!found) throw new Error(`no text item ${str}: ${list.map((i) => i.str).join('|')}`);
    return found;
  };
  const notes =
    'A long note that says a great deal about the row it belongs to, enough to wrap over several lines in any reasonable column.';

  it('sizes columns from their content: a short label column leaves the width to a long notes column', async () => {
    const list = await items({
      blocks: [{ type: 'table', header: [cell('ID'), cell('Notes')], rows: [[cell('A1'), cell(notes)], [cell('B22'), cell('Short.')]] }],
    });
    const id = find(list, 'ID');
    const notesHeader = find(list, 'Notes');
    expect(id.x).toBeCloseTo(56 + 4, 0);
    // Equal shares would put the second column at the middle of the 483 pt table.
    const idColumn = notesHeader.x - id.x;
    expect(idColumn).toBeLessThan(40);
    expect(idColumn).toBeGreaterThan(find(list, 'B22').width);
    // The notes wrap within the rest of the width: lines wider than half the table.
    const noteLines = list.filter((i) => i.x === notesHeader.x && i.str.length > 20);
    expect(noteLines.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...noteLines.map((i) => i.width))).toBeGreaterThan(483 / 2);
    expect(Math.max(...noteLines.map((i) => i.x + i.width))).toBeLessThanOrEqual(TABLE_RIGHT - 4 + 0.5);
  });

  it('aligns each column as the content says, and numbers to the right by default', async () => {
    const list = await items({
      blocks: [
        {
          type: 'table',
          align: ['left', 'center', 'right', null],
          header: [cell('Left'), cell('Centre'), cell('Right'), cell('Default')],
          rows: [
            [cell('l'), cell('c'), cell('r'), num(7)],
            [cell('long left text'), cell('long centred text'), cell('long right text'), num(1234567.5)],
            [cell('x'), cell('y'), cell('z'), cell('words')],
          ],
        },
      ],
    });
    const [left, centre, right, deflt] = ['Left', 'Centre', 'Right', 'Default'].map((s) => find(list, s));
    for (const s of ['l', 'long left text', 'x']) expect(find(list, s).x).toBeCloseTo(left!.x, 1);
    const middle = (i: { x: number; width: number }) => i.x + i.width / 2;
    for (const s of ['c', 'long centred text', 'y']) expect(middle(find(list, s))).toBeCloseTo(middle(centre!), 0);
    const end = (i: { x: number; width: number }) => i.x + i.width;
    for (const s of ['r', 'long right text', 'z']) expect(end(find(list, s))).toBeCloseTo(end(right!), 0);
    // Default column: the header and text to the left, numbers to the right edge of the table.
    expect(find(list, 'words').x).toBeCloseTo(deflt!.x, 1);
    expect(end(find(list, '7'))).toBeCloseTo(TABLE_RIGHT - 4, 0);
    expect(end(find(list, '1,234,567.5'))).toBeCloseTo(TABLE_RIGHT - 4, 0);
    expect(find(list, '7').x).toBeGreaterThan(deflt!.x + 10);
  });

  it('renders content without `align` left-aligned with the same text as before, only the widths differ', async () => {
    const rows = [
      [cell('Apples'), cell('12'), cell('crisp and sweet')],
      [cell('Pears'), cell('7'), cell('')],
    ];
    const list = await items({ blocks: [{ type: 'table', header: [cell('Name'), cell('Qty'), cell('Remarks')], rows }] });
    const columns = ['Name', 'Qty', 'Remarks'].map((s) => find(list, s).x);
    expect(find(list, 'Apples').x).toBeCloseTo(columns[0]!, 1);
    expect(find(list, 'Pears').x).toBeCloseTo(columns[0]!, 1);
    expect(find(list, '12').x).toBeCloseTo(columns[1]!, 1); // text, not a number node: left
    expect(find(list, '7').x).toBeCloseTo(columns[1]!, 1);
    expect(find(list, 'crisp and sweet').x).toBeCloseTo(columns[2]!, 1);
    // Wider text, wider column, where equal shares would give each 161 pt.
    const [name, qty, remarks] = [columns[1]! - columns[0]!, columns[2]! - columns[1]!, TABLE_RIGHT - columns[2]! + 4];
    expect(qty).toBeLessThan(name);
    expect(name).toBeLessThan(remarks);
    expect(name + qty + remarks).toBeCloseTo(483, 0);
  });
});

describe('columnWidths', () => {
  it('gives what every column wants plus a share of the rest, in proportion to the wants', () => {
    expect(columnWidths([{ min: 10, max: 20 }, { min: 10, max: 60 }], 160)).toEqual([40, 120]);
  });
  it('gives columns that want less than an equal share all they want, the rest in proportion to how much more they want', () => {
    // 'Qty' wants 40 of 130: it gets it; the notes column takes the remaining 90.
    expect(columnWidths([{ min: 20, max: 40 }, { min: 10, max: 210 }], 130)).toEqual([40, 90]);
    // Two long columns share what the short one leaves: minimum plus (max - min) in proportion.
    const [a, b, c] = columnWidths([{ min: 10, max: 30 }, { min: 20, max: 220 }, { min: 30, max: 430 }], 330);
    expect(a).toBe(30);
    expect(b! + c!).toBeCloseTo(300);
    expect(b).toBeCloseTo(20 + 250 * (200 / 600));
  });
  it('does not give a short column its natural width when the others would fall below their minimums', () => {
    const [a, b] = columnWidths([{ min: 10, max: 50 }, { min: 80, max: 300 }], 100);
    expect(a! + b!).toBeCloseTo(100);
    expect(b).toBeGreaterThanOrEqual(80);
  });
  it('scales minimums that do not fit, and shares equally when nothing wants anything', () => {
    expect(columnWidths([{ min: 100, max: 100 }, { min: 300, max: 400 }], 200)).toEqual([50, 150]);
    expect(columnWidths([{ min: 0, max: 0 }, { min: 0, max: 0 }], 100)).toEqual([50, 50]);
  });
});
