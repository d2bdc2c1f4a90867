import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { pageContent, readObjects } from './pdf-objects.js';
import { squash } from './render-pdf-text.js';
import { elements, isNode, readingOrder, readTags, roles, type TagNode, type TaggedPdf } from './render-pdf-tags.js';

// The tagged structure of an export, read back with pdfjs (getStructTree and the marked
// content of the text layer) and, for what pdfjs does not show (vector drawing, attribute
// dictionaries), from the PDF's objects.

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 0);
const text = (t: string, marks?: Extract<InlineNode, { type: 'text' }>['marks']): InlineNode => (marks ? { type: 'text', text: t, marks } : { type: 'text', text: t });
const para = (t: string): Block => ({ type: 'paragraph', content: [text(t)] });
const heading = (level: 1 | 2 | 3 | 4 | 5 | 6, t: string): Block => ({ type: 'heading', level, content: [text(t)] });
const cell = (t: string) => ({ content: [text(t)] });

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Tagging test', content, locale: 'en-GB', timezone: 'UTC', exportedAt: EXPORTED_AT, ...overrides };
}

const render = async (content: Content, overrides: Partial<RenderRequest> = {}) => (await renderPdf(request(content, overrides))).pdf;

const URL_A = 'https://example.com/a?b=1&c=2';

const EVERY_BLOCK: Content = {
  blocks: [
    heading(1, 'Chapter'),
    { type: 'paragraph', content: [text('See '), text('the site', [{ type: 'link', href: URL_A }]), text(' for '), text('more', [{ type: 'code' }]), text('.')] },
    heading(2, 'Lists'),
    {
      type: 'bulletList',
      items: [
        { content: [para('First'), { type: 'orderedList', items: [{ content: [para('Nested one')] }, { content: [para('Nested two')] }] }] },
        { content: [para('Second')] },
      ],
    },
    heading(3, 'Table'),
    { type: 'table', header: [cell('Name'), cell('Qty')], rows: [[cell('Apples'), { content: [{ type: 'number', value: 12 }] }], [cell('Pears'), cell('7')]] },
    heading(4, 'Code'),
    { type: 'codeBlock', text: 'let a = 1;\nlet b = 2;' },
    heading(5, 'Quote'),
    { type: 'quote', content: [para('Quoted words.')] },
    { type: 'divider' },
    heading(6, 'End'),
    para('Last words.'),
  ],
};

/**
 * Elements with marked content of their own on the page. pdfjs gives a page's tree with
 * every element of a list or table that has content on it, cells of other pages included.
 */
const withContent = (nodes: TagNode[]) => nodes.filter((n) => n.children.some((c) => !isNode(c)));

/** Painting and text-showing operators outside any marked-content sequence, and whether BDC/EMC balance, per page. */
function unmarkedOperators(pdf: Uint8Array): { unmarked: string[]; balanced: boolean }[] {
  const objects = readObjects(pdf);
  return objects.ofType('Page').map((page) => {
    let depth = 0;
    const unmarked: string[] = [];
    for (const line of pageContent(objects, page).split('\n')) {
      if (/ BDC$| BMC$/.test(line)) depth++;
      else if (line === 'EMC') depth--;
      else if ((/^(f|f\*|S|s|B|B\*|b|b\*)$/.test(line) || /(TJ|Tj)$/.test(line)) && depth === 0) unmarked.push(line);
    }
    return { unmarked, balanced: depth === 0 };
  });
}

describe('structure tree', () => {
  let tagged: TaggedPdf;
  let bytes: Uint8Array;
  const tags = async () => {
    bytes ??= await render(EVERY_BLOCK);
    tagged ??= await readTags(bytes);
    return tagged;
  };

  it('has an element for every block, nested as the document is (lists in list bodies, cells in rows, quotes around their blocks)', async () => {
    const { pages } = await tags();
    expect(pages).toHaveLength(1);
    expect(roles(pages[0]!.tree)).toEqual([
      'Root',
      [
        'Document',
        'H1', // the document title
        'H1',
        ['P', 'Link'],
        'H2',
        [
          'L',
          ['LI', 'Lbl', ['LBody', 'P', ['L', ['LI', 'Lbl', ['LBody', 'P']], ['LI', 'Lbl', ['LBody', 'P']]]]],
          ['LI', 'Lbl', ['LBody', 'P']],
        ],
        'H3',
        ['Table', ['THead', ['TR', 'TH', 'TH']], ['TBody', ['TR', 'TD', 'TD'], ['TR', 'TD', 'TD']]],
        'H4',
        'Code',
        'H5',
        ['BlockQuote', 'P'],
        'H6',
        'P',
      ],
    ]);
  });

  it('reads in document order, each text in its element, and nothing of the footer', async () => {
    const order = readingOrder((await tags()).pages[0]!).map(({ role, text }) => [role, squash(text)]);
    expect(order).toEqual([
      ['H1', 'Tagging test'],
      ['H1', 'Chapter'],
      ['P', 'See'],
      ['Link', 'the site'],
      ['P', 'for more .'],
      ['H2', 'Lists'],
      ['Lbl', '•'],
      ['P', 'First'],
      ['Lbl', '1.'],
      ['P', 'Nested one'],
      ['Lbl', '2.'],
      ['P', 'Nested two'],
      ['Lbl', '•'],
      ['P', 'Second'],
      ['H3', 'Table'],
      ['TH', 'Name'],
      ['TH', 'Qty'],
      ['TD', 'Apples'],
      ['TD', '12'],
      ['TD', 'Pears'],
      ['TD', '7'],
      ['H4', 'Code'],
      ['Code', 'let a = 1; let b = 2;'],
      ['H5', 'Quote'],
      ['P', 'Quoted words.'],
      ['H6', 'End'],
      ['P', 'Last words.'],
    ]);
  });

  it('marks the footer and page number as artifacts, and leaves no text or drawing unmarked', async () => {
    const { pages } = await tags();
    const page = pages[0]!;
    expect(squash(page.artifactText.join(' '))).toMatch(/^Exported 29\/11\/2026, 06:25 UTC 1 \/ 1$/);
    expect(page.unmarkedText).toEqual([]);
    for (const { unmarked, balanced } of unmarkedOperators(bytes)) {
      expect(unmarked).toEqual([]);
      expect(balanced).toBe(true);
    }
  });

  it('gives a link its URL as alternate text and its annotation (with the URL as Contents) as a child', async () => {
    const page = (await tags()).pages[0]!;
    const [link] = elements(page.tree, 'Link');
    expect(link!.alt).toBe(URL_A);
    expect(page.links).toHaveLength(1);
    expect(page.links[0]).toMatchObject({ url: URL_A, contents: URL_A });
    const objects = link!.children.filter((c) => !isNode(c) && c.type !== 'content');
    expect(objects).toEqual([{ type: 'object', id: page.links[0]!.id }]);
  });

  it('gives header cells a column scope', async () => {
    await tags();
    const objects = readObjects(bytes);
    const cells = [...objects.objects.values()].filter((o) => /\/S \/T[HD]\b/.test(o.body));
    const th = cells.filter((o) => /\/S \/TH\b/.test(o.body));
    expect(th).toHaveLength(2);
    for (const o of th) expect(o.body).toMatch(/\/Scope \/Column/);
    expect(cells.filter((o) => /\/Scope/.test(o.body))).toHaveLength(2);
  });

  it('says the PDF is tagged (MarkInfo Marked) and orders annotations by structure', async () => {
    const { markInfo } = await tags();
    expect(markInfo).toMatchObject({ Marked: true });
    const objects = readObjects(bytes);
    expect(objects.root().body).toMatch(/\/StructTreeRoot \d+ 0 R/);
    for (const page of objects.ofType('Page')) expect(page.body).toMatch(/\/Tabs \/S/);
  });
});

describe('headings', () => {
  it('are tagged as written, a skipped level one below the heading before it (the title is the first H1)', async () => {
    const { pages } = await readTags(await render({ blocks: [heading(3, 'Three'), heading(2, 'Two'), heading(5, 'Five'), heading(6, 'Six'), heading(1, 'One'), heading(2, 'Two again')] }));
    expect(readingOrder(pages[0]!).map(({ role, text }) => `${role} ${squash(text)}`)).toEqual([
      'H1 Tagging test',
      'H2 Three',
      'H2 Two',
      'H3 Five',
      'H4 Six',
      'H1 One',
      'H2 Two again',
    ]);
  });
});

describe('tables over several pages', () => {
  const rows = Array.from({ length: 90 }, (_, i) => [cell(`Row ${i}`), cell(`Value ${i}`)]);

  it('tag the header once: repeated on a continuation page it is an artifact, not header cells', async () => {
    const bytes = await render({ blocks: [{ type: 'table', header: [cell('Name'), cell('Value')], rows }] });
    const { pages } = await readTags(bytes);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(withContent(elements(pages[0]!.tree, 'TH'))).toHaveLength(2);
    for (const page of pages.slice(1)) {
      expect(withContent(elements(page.tree, 'TH'))).toHaveLength(0);
      expect(squash(page.artifactText.join(' '))).toMatch(/^Name Value /);
      expect(withContent(elements(page.tree, 'TD')).length).toBeGreaterThan(10);
    }
    // One table: one header row, a row per data row, whatever the pages.
    const [table] = elements(pages[0]!.tree, 'Table');
    expect(elements(table!, 'THead')).toHaveLength(1);
    expect(elements(table!, 'TH')).toHaveLength(2);
    expect(elements(table!, 'TR')).toHaveLength(91);
    // Every row is tagged exactly once.
    const cells = pages.flatMap((page) => readingOrder(page).filter((c) => c.role === 'TD').map((c) => squash(c.text)));
    expect(cells).toEqual(rows.flatMap((_, i) => [`Row ${i}`, `Value ${i}`]));
    for (const { unmarked, balanced } of unmarkedOperators(bytes)) {
      expect(unmarked).toEqual([]);
      expect(balanced).toBe(true);
    }
  });

  it('keep a row taller than a page as one row whose cells continue on the next page', async () => {
    const tall = Array.from({ length: 120 }, (_, i) => `line ${i}`).join('\n');
    const { pages } = await readTags(await render({ blocks: [{ type: 'table', header: [cell('Key'), cell('Text')], rows: [[cell('k'), cell(tall)]] }] }));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    const cellText = pages.map((page) => readingOrder(page).filter((c) => c.role === 'TD').map((c) => squash(c.text)).join(' '));
    expect(cellText[0]).toMatch(/^k line 0 line 1 /);
    expect(cellText[1]).toMatch(/^line \d+ /);
    expect(squash(cellText.join(' '))).toBe(`k ${Array.from({ length: 120 }, (_, i) => `line ${i}`).join(' ')}`);
    for (const page of pages) expect(elements(page.tree, 'TR')).toHaveLength(2); // the header's and the one row
    // On the continuation page only the long cell has content.
    expect(withContent(elements(pages[1]!.tree, 'TD'))).toHaveLength(1);
  });
});

describe('edge cases', () => {
  it('a paragraph over a page break is one element with content on both pages', async () => {
    const long = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
    const { pages } = await readTags(await render({ blocks: [para(long)] }));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    for (const page of pages) expect(roles(page.tree)).toEqual(['Root', ['Document', ...(page === pages[0] ? ['H1'] : []), 'P']]);
  });

  it('an item holding only an empty list still gets its label, as an artifact when its item has ended', async () => {
    const bytes = await render({ blocks: [{ type: 'bulletList', items: [{ content: [{ type: 'bulletList', items: [] }] }, { content: [para('After')] }] }] });
    const { pages } = await readTags(bytes);
    expect(pages[0]!.unmarkedText).toEqual([]);
    expect(readingOrder(pages[0]!).map((c) => `${c.role} ${squash(c.text)}`)).toEqual(['H1 Tagging test', 'Lbl •', 'P After']);
    expect(squash(pages[0]!.artifactText.join(' '))).toMatch(/^• Exported /);
  });

  it('an empty document has its title and nothing unmarked', async () => {
    const bytes = await render({ blocks: [] });
    const { pages } = await readTags(bytes);
    expect(roles(pages[0]!.tree)).toEqual(['Root', ['Document', 'H1']]);
    expect(pages[0]!.unmarkedText).toEqual([]);
  });
});
