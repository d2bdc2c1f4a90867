import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
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
    // No bidi layout yet: Arabic and Hebrew keep the English label (footer-labels.ts).
    ['ar-EG', 'Exported'],
    ['he-IL', 'Exported'],
    // Languages without a label of their own, and no language at all.
    ['sv-SE', 'Exported'],
    ['und', 'Exported'],
  ])('%s: "%s" and the Intl-formatted export time on every page', async (locale, label) => {
    const pages = await footerOf(locale, 'Europe/Berlin');
    expect(pages).toHaveLength(2);
    for (const page of pages) {
      if (locale === 'ar-EG') expect(page).toContain(`${label} `); // the Arabic date is drawn as one reversed run
      else if (locale === 'he-IL') {
        // Intl puts a left-to-right mark before the zone's offset; pdfjs reads it as a space.
        expect(page).toContain(squash(`${label} ${exportedAt(locale, 'Europe/Berlin')}`.replace(/\u200e/g, ' ')));
      } else expect(page).toContain(squash(`${label} ${exportedAt(locale, 'Europe/Berlin')}`));
    }
  });

  it('uses the language subtag whatever the case or region, and English for a locale Intl cannot use', async () => {
    expect((await footerOf('DE-ch'))[0]).toContain(squash(`Exportiert am ${exportedAt('de-CH', 'UTC')}`));
    expect((await footerOf('zh-Hant-TW'))[0]).toContain(squash(`导出时间 ${exportedAt('zh-Hant-TW', 'UTC')}`));
    expect((await footerOf('not a locale'))[0]).toContain(squash(`Exported ${exportedAt('en-US', 'UTC')}`));
  });
});
