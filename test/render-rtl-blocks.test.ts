import { describe, expect, it } from 'vitest';
import type { Block, Content, ListItem } from '../server/contract/content.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { pageContent, readObjects } from './pdf-objects.js';
import { readPdf, squash, type TextItem } from './render-pdf-text.js';
import { readingOrder, readTags, roles } from './render-pdf-tags.js';

// Lists and quotes in right-to-left text are the mirror image of left-to-right ones (issue
// 14): the marker or the quote bar on the right, the text indented from the right. Read
// back from the PDF: glyph positions with pdfjs, quote bars from the content stream.

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 0);
const PAGE_WIDTH = 595.28;
const PAGE_HEIGHT = 841.89;
const LEFT_MARGIN = 56;
const RIGHT_MARGIN = PAGE_WIDTH - 56;
// render-pdf.ts: a list's indent (for markers up to its width), the gap between marker and
// text, and a quote's indent.
const LIST_INDENT = 20;
const MARKER_GAP = 5;
const QUOTE_INDENT = 14;

const para = (t: string): Block => ({ type: 'paragraph', content: [{ type: 'text', text: t }] });
const item = (...content: Block[]): ListItem => ({ content });
const bullets = (...items: ListItem[]): Block => ({ type: 'bulletList', items });
const numbered = (...items: ListItem[]): Block => ({ type: 'orderedList', items });

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Lists', content, locale: 'he-IL', timezone: 'UTC', exportedAt: EXPORTED_AT, ...overrides };
}

async function render(content: Content): Promise<Uint8Array> {
  const result = await renderPdf(request(content));
  expect(result.missingCodePoints).toEqual([]);
  return result.pdf;
}

/** The body's lines on page 1 (title and footer left out): pdfjs's items per baseline, top to bottom. */
async function bodyLines(pdf: Uint8Array): Promise<TextItem[][]> {
  const items = (await readPdf(pdf)).items[0]!;
  const lines = new Map<number, TextItem[]>();
  for (const i of items) {
    const y = Math.round(i.y);
    lines.set(y, [...(lines.get(y) ?? []), i]);
  }
  return [...lines.entries()].sort((a, b) => b[0] - a[0]).slice(1, -1).map(([, line]) => line);
}

const MARKER = /^[•◦▪]$|^\d+$|^\.$|^\d+\.$/;
const isMarker = (i: TextItem) => MARKER.test(i.str.trim());
/** A line's item text without the marker's items. */
const textItems = (line: TextItem[]) => line.filter((i) => !isMarker(i) && i.str.trim() !== '');
const markerItems = (line: TextItem[]) => line.filter(isMarker);
const left = (items: TextItem[]) => Math.min(...items.map((i) => i.x));
const right = (items: TextItem[]) => Math.max(...items.map((i) => i.x + i.width));
const bare = (s: string) => s.replace(/[\s\u200e\u200f]/g, '');

/** Quote bars: pdfkit writes each as `x y 3 h re` under a y-down transform (render-pdf.ts drawBar). */
function quoteBars(pdf: Uint8Array, pageIndex = 0): { x: number; top: number; bottom: number }[] {
  const objects = readObjects(pdf);
  const page = objects.ofType('Page')[pageIndex]!;
  const bars: { x: number; top: number; bottom: number }[] = [];
  for (const m of pageContent(objects, page).matchAll(/^([\d.]+) ([\d.]+) 3 ([\d.]+) re$/gm)) {
    const top = Number(m[2]);
    bars.push({ x: Number(m[1]), top: PAGE_HEIGHT - top, bottom: PAGE_HEIGHT - top - Number(m[3]) });
  }
  return bars;
}

describe('right-to-left lists', () => {
  it('put a bulleted item\'s bullet at the right margin and right-align its text to the indent', async () => {
    const long = 'שורה ארוכה של טקסט בעברית שממשיכה הלאה והלאה עד שהיא נשברת לשורה שנייה ואולי גם לשלישית בתוך הפריט';
    const lines = await bodyLines(await render({ blocks: [bullets(item(para('פריט ראשון')), item(para(long)))] }));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const indentEdge = RIGHT_MARGIN - LIST_INDENT;
    for (const [n, line] of lines.entries()) {
      // Every line of every item ends at the indent, a list's width from the right margin.
      expect(right(textItems(line)), `line ${n}`).toBeCloseTo(indentEdge, 0);
      expect(left(textItems(line)), `line ${n}`).toBeGreaterThan(LEFT_MARGIN - 0.5);
    }
    // Each item's first line has its bullet, right of the text and inside the right margin.
    const firstLines = [lines[0]!, lines[1]!];
    for (const line of firstLines) {
      const [bullet, ...others] = markerItems(line);
      expect(others).toEqual([]);
      expect(bullet!.str.trim()).toBe('•');
      expect(bullet!.x).toBeCloseTo(indentEdge + MARKER_GAP, 0);
      expect(bullet!.x).toBeGreaterThan(right(textItems(line)));
      expect(bullet!.x + bullet!.width).toBeLessThanOrEqual(RIGHT_MARGIN);
    }
    // Continuation lines have no bullet.
    for (const line of lines.slice(2)) expect(markerItems(line)).toEqual([]);
  });

  it('put a numbered item\'s number at the right, read back as the number, with its period on its left as a browser shows <ol dir=rtl>', async () => {
    const pdf = await render({ blocks: [numbered(item(para('ראשון')), item(para('שני')))] });
    const lines = await bodyLines(pdf);
    expect(lines).toHaveLength(2);
    for (const [n, line] of lines.entries()) {
      const text = textItems(line);
      const marker = markerItems(line);
      expect(right(text)).toBeCloseTo(RIGHT_MARGIN - LIST_INDENT, 0);
      // The marker begins a gap right of the text and stays inside the margin.
      expect(left(marker)).toBeCloseTo(right(text) + MARKER_GAP, 0);
      expect(right(marker)).toBeLessThanOrEqual(RIGHT_MARGIN);
      // Visually ".1": the period's glyph left of the digit's.
      expect(marker.map((i) => i.str), `line ${n}`).toEqual([String(n + 1), '.']);
      const [digit, period] = marker as [TextItem, TextItem];
      expect(period.x + period.width).toBeCloseTo(digit.x, 1);
    }
    // Text extraction reads each label as the number then its period, in logical order.
    const order = readingOrder((await readTags(pdf)).pages[0]!).map(({ role, text }) => [role, bare(squash(text))]);
    expect(order).toEqual([
      ['H1', 'Lists'],
      ['Lbl', '1.'],
      ['P', 'ראשון'],
      ['Lbl', '2.'],
      ['P', 'שני'],
    ]);
  });

  it('indent a nested right-to-left list further from the right, its bullet right of its text', async () => {
    const lines = await bodyLines(
      await render({ blocks: [bullets(item(para('חיצוני'), bullets(item(para('פנימי'), bullets(item(para('עמוק ביותר'))))))), bullets(item(para('שוב בחוץ')))] }),
    );
    expect(lines).toHaveLength(4);
    const rights = lines.map((line) => right(textItems(line)));
    expect(rights[0]).toBeCloseTo(RIGHT_MARGIN - LIST_INDENT, 0);
    expect(rights[1]).toBeCloseTo(RIGHT_MARGIN - 2 * LIST_INDENT, 0);
    expect(rights[2]).toBeCloseTo(RIGHT_MARGIN - 3 * LIST_INDENT, 0);
    expect(rights[3]).toBeCloseTo(RIGHT_MARGIN - LIST_INDENT, 0);
    const glyphs = ['•', '◦', '▪', '•'];
    for (const [n, line] of lines.entries()) {
      const [bullet] = markerItems(line);
      expect(bullet!.str.trim(), `line ${n}`).toBe(glyphs[n]);
      expect(bullet!.x, `line ${n}`).toBeCloseTo(rights[n]! + MARKER_GAP, 0);
    }
  });

  it('decide an item\'s direction by its first strong character, as a paragraph\'s: a leading number does not, a Latin word does', async () => {
    const lines = await bodyLines(
      await render({
        blocks: [
          bullets(
            item(para('42 שלום')),
            // No strong character in the first paragraph: the second one's decides.
            item(para('2026'), para('עברית')),
            item(para('Acme שלום')),
            item({ type: 'codeBlock', text: 'x = 1' }, para('ישראל')),
          ),
        ],
      }),
    );
    const lineOf = (str: string) => lines.find((line) => line.some((i) => i.str.includes(str)))!;
    const bulletX = (str: string) => markerItems(lineOf(str))[0]!.x;
    expect(bulletX('42')).toBeGreaterThan(PAGE_WIDTH / 2);
    expect(bulletX('2026')).toBeGreaterThan(PAGE_WIDTH / 2);
    expect(bulletX('Acme')).toBeLessThan(PAGE_WIDTH / 2);
    // A code block is always set left to right, so it does not decide: the paragraph after it does.
    expect(bulletX('=')).toBeGreaterThan(PAGE_WIDTH / 2);
  });

  it('leave a left-to-right list in the same document where it was: markers on the left, each item placed as without the right-to-left one', async () => {
    const ltr = bullets(item(para('First item')), item(para('Second'), numbered(item(para('Nested one')), item(para('Nested two')))));
    const mixed = await bodyLines(await render({ blocks: [bullets(item(para('פריט בעברית'))), ltr] }));
    const alone = await bodyLines(await render({ blocks: [ltr] }));
    const ltrLines = mixed.slice(1);
    expect(ltrLines).toHaveLength(alone.length);
    const xs = (lines: TextItem[][]) => lines.map((line) => line.map((i) => [i.str, i.x.toFixed(3), i.width.toFixed(3)]));
    expect(xs(ltrLines)).toEqual(xs(alone));
    for (const line of ltrLines) expect(right(markerItems(line))).toBeLessThan(left(textItems(line)));
    expect(left(textItems(ltrLines[0]!))).toBeCloseTo(LEFT_MARGIN + LIST_INDENT, 0);
    // The Hebrew item above them is mirrored.
    expect(left(markerItems(mixed[0]!))).toBeGreaterThan(right(textItems(mixed[0]!)));
  });

  it('tag right-to-left lists as left-to-right ones: L, LI, Lbl, LBody', async () => {
    const { pages } = await readTags(await render({ blocks: [numbered(item(para('אחד'), bullets(item(para('פנימי'))))), bullets(item(para('שלום')))] }));
    expect(roles(pages[0]!.tree)).toEqual([
      'Root',
      ['Document', 'H1', ['L', ['LI', 'Lbl', ['LBody', 'P', ['L', ['LI', 'Lbl', ['LBody', 'P']]]]]], ['L', ['LI', 'Lbl', ['LBody', 'P']]]],
    ]);
  });
});

describe('right-to-left quotes', () => {
  it('draw the bar on the right of a right-to-left quote and indent its text from it; a left-to-right quote keeps its bar on the left', async () => {
    const long = 'ציטוט בעברית שהוא ארוך מספיק כדי לעבור לשורה הבאה בעמוד, ארוך מאוד מאוד, ועוד קצת מילים כדי שיישבר';
    const pdf = await render({ blocks: [{ type: 'quote', content: [para(long)] }, { type: 'quote', content: [para('A quote in English.')] }] });
    const bars = quoteBars(pdf);
    expect(bars).toHaveLength(2);
    const [rtlBar, ltrBar] = bars as [(typeof bars)[0], (typeof bars)[0]];
    // The mirror image of the left bar, which spans 2-5 pt inside the box's left edge.
    expect(rtlBar.x + 3).toBeCloseTo(RIGHT_MARGIN - 2, 5);
    expect(ltrBar.x).toBeCloseTo(LEFT_MARGIN + 2, 5);
    const lines = await bodyLines(pdf);
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(0, 2)) {
      expect(right(line)).toBeCloseTo(RIGHT_MARGIN - QUOTE_INDENT, 0);
      // Beside its bar, not overlapping it.
      expect(right(line)).toBeLessThan(rtlBar.x);
      expect(line[0]!.y).toBeLessThan(rtlBar.top);
      expect(line[0]!.y).toBeGreaterThan(rtlBar.bottom);
    }
    expect(left(lines[2]!)).toBeCloseTo(LEFT_MARGIN + QUOTE_INDENT, 0);
    // Tagged as before: each quote a BlockQuote around its paragraph, the bars artifacts.
    const { pages } = await readTags(pdf);
    expect(roles(pages[0]!.tree)).toEqual(['Root', ['Document', 'H1', ['BlockQuote', 'P'], ['BlockQuote', 'P']]]);
  });

  it('draw a right-to-left quote\'s bar on the right of every page it spans', async () => {
    const words = 'ציטוט ארוך מאוד שממשיך מעמוד לעמוד ';
    const pdf = await render({ blocks: [{ type: 'quote', content: Array.from({ length: 60 }, () => para(words.repeat(6))) }] });
    const { numPages } = await readPdf(pdf);
    expect(numPages).toBeGreaterThan(1);
    for (let page = 0; page < numPages; page++) {
      const bars = quoteBars(pdf, page);
      expect(bars, `page ${page + 1}`).toHaveLength(1);
      expect(bars[0]!.x + 3, `page ${page + 1}`).toBeCloseTo(RIGHT_MARGIN - 2, 5);
    }
  });

  it('mirror a right-to-left list inside a right-to-left quote: the bar outermost on the right, the bullet inside it', async () => {
    const pdf = await render({ blocks: [{ type: 'quote', content: [bullets(item(para('פריט בציטוט')))] }] });
    const [bar] = quoteBars(pdf);
    const [line] = await bodyLines(pdf);
    const [bullet] = markerItems(line!);
    expect(bar!.x + 3).toBeCloseTo(RIGHT_MARGIN - 2, 5);
    expect(right(textItems(line!))).toBeCloseTo(RIGHT_MARGIN - QUOTE_INDENT - LIST_INDENT, 0);
    expect(bullet!.x).toBeCloseTo(RIGHT_MARGIN - QUOTE_INDENT - LIST_INDENT + MARKER_GAP, 0);
    expect(bullet!.x + bullet!.width).toBeLessThan(bar!.x);
  });
});

describe('the deepest nesting', () => {
  // Twelve levels, the most content may nest (CONTENT_LIMITS.maxDepth): six ordered lists
  // with the widest markers, five quotes, and the leaf, in either direction.
  const deepest = (leaf: Block): Content => {
    let block = leaf;
    for (let level = 0; level < 5; level++) block = { type: 'quote', content: [block] };
    for (let level = 0; level < 6; level++) block = { type: 'orderedList', start: 1_000_000_000, items: [item(block)] };
    return { blocks: [block] };
  };
  const leaves: Array<[string, Block, string]> = [
    ['a left-to-right paragraph', para('Deep text that wraps over several lines of a narrow box, every word kept.'), 'Deeptextthatwrapsoverseverallinesofanarrowbox,everywordkept.'],
    ['a right-to-left paragraph', para('אבגדהוזחטיכלמנסעפצקרשת אבגדהוזחטיכלמנסעפצקרשת'), 'אבגדהוזחטיכלמנסעפצקרשתאבגדהוזחטיכלמנסעפצקרשת'],
    [
      'a table with a right-to-left cell',
      { type: 'table', header: [], rows: [[{ content: [{ type: 'text', text: 'שלום' }] }, { content: [{ type: 'text', text: 'x'.repeat(50) }] }]] },
      `שלום${'x'.repeat(50)}`,
    ],
  ];
  it.each(leaves)('keeps every box, marker and character of %s on the page', async (_name, leaf, characters) => {
    const pdf = await render(deepest(leaf));
    const items = (await readPdf(pdf)).items[0]!.filter((i) => i.str.trim() !== '');
    for (const i of items) {
      expect(i.x, JSON.stringify(i.str)).toBeGreaterThanOrEqual(0);
      expect(i.x + i.width, JSON.stringify(i.str)).toBeLessThanOrEqual(PAGE_WIDTH);
    }
    // Every character of the leaf is read back, as often as it occurs (pdfjs drops what is
    // drawn off the page); the title, markers and footer may add more.
    const counts = (text: string) => [...text].reduce((m, c) => m.set(c, (m.get(c) ?? 0) + 1), new Map<string, number>());
    const read = counts(items.map((i) => i.str).join(''));
    for (const [c, n] of counts(characters)) expect(read.get(c) ?? 0, c).toBeGreaterThanOrEqual(n);
  });
});
