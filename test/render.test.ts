import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode, TableCell } from '../server/contract/content.js';
import { ContentTooLargeError, isContentTooLarge, renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { ByteSink } from '../server/render/pdf-output.js';
import { firstOutOfOrder, readPdf, squash } from './render-pdf-text.js';

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 0); // 2026-11-29T06:25:00Z
const text = (t: string, marks?: Extract<InlineNode, { type: 'text' }>['marks']): InlineNode => (marks ? { type: 'text', text: t, marks } : { type: 'text', text: t });
const para = (...content: InlineNode[]): Block => ({ type: 'paragraph', content });
const cell = (t: string): TableCell => ({ content: [text(t)] });

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Render test', content, locale: 'en-US', timezone: 'America/New_York', exportedAt: EXPORTED_AT, ...overrides };
}

const EVERY_BLOCK: Content = {
  blocks: [
    ...([1, 2, 3, 4, 5, 6] as const).map((level): Block => ({ type: 'heading', level, content: [text(`Heading level ${level}`)] })),
    para(
      text('Plain start, '),
      text('bold words', [{ type: 'bold' }]),
      text(' then '),
      text('italic words', [{ type: 'italic' }]),
      text(' and '),
      text('inline_code()', [{ type: 'code' }]),
      text(' plus '),
      text('a link', [{ type: 'link', href: 'https://example.com/docs' }]),
      text(' and '),
      text('bold italic', [{ type: 'bold' }, { type: 'italic' }]),
      text('.'),
    ),
    {
      type: 'bulletList',
      items: [
        { content: [para(text('Bullet one'))] },
        {
          content: [
            para(text('Bullet two')),
            { type: 'bulletList', items: [{ content: [para(text('Nested bullet'))] }, { content: [para(text('Second nested'))] }] },
          ],
        },
        { content: [] },
      ],
    },
    {
      type: 'orderedList',
      start: 3,
      items: [
        { content: [para(text('Ordered three'))] },
        { content: [para(text('Ordered four'))] },
      ],
    },
    { type: 'table', header: [cell('Name'), cell('Quantity')], rows: [[cell('Apples'), cell('12')], [cell('Pears')]] },
    { type: 'codeBlock', language: 'ts', text: 'const answer = 42;\nif (answer) {\n\treturn answer;\n}\n' },
    { type: 'quote', content: [para(text('A quoted remark'))] },
    { type: 'divider' },
    para(
      text('See '),
      { type: 'objectReference', objectRid: 'ri.phonograph2-objects.main.object.1', title: 'Pump station 7' },
      text(' in '),
      { type: 'objectSetReference', objectSetRid: 'ri.object-set.main.versioned-object-set.9', title: 'All stations' },
      text(' or '),
      { type: 'objectSetReference', objectSetRid: 'ri.object-set.main.versioned-object-set.untitled' },
      text(' for '),
      { type: 'parameter', name: 'region' },
    ),
    { type: 'pageBreak' },
    para(text('After the page break')),
  ],
};

describe('renderPdf', () => {
  it('renders every block type in order, with metadata and links', async () => {
    const result = await renderPdf(request(EVERY_BLOCK, { title: 'Every block' }));
    const pdf = await readPdf(result.pdf);
    expect(result.pageCount).toBe(2);
    expect(pdf.numPages).toBe(2);
    expect(result.missingCodePoints).toEqual([]);

    const first = squash(pdf.pages[0]!);
    expect(first.startsWith('Every block')).toBe(true);
    expect(
      firstOutOfOrder(first, [
        'Every block',
        'Heading level 1',
        'Heading level 2',
        'Heading level 3',
        'Heading level 4',
        'Heading level 5',
        'Heading level 6',
        'Plain start, bold words then italic words and inline_code() plus a link and bold italic.',
        '•',
        'Bullet one',
        'Bullet two',
        '◦',
        'Nested bullet',
        'Second nested',
        '3.',
        'Ordered three',
        '4.',
        'Ordered four',
        'Name',
        'Quantity',
        'Apples',
        '12',
        'Pears',
        'const answer = 42;',
        'if (answer) {',
        'return answer;',
        '}',
        'A quoted remark',
        'See Pump station 7 in All stations or ri.object-set.main.versioned-object-set.untitled for {{region}}',
      ]),
    ).toBeUndefined();
    expect(first).not.toContain('After the page break');
    expect(squash(pdf.pages[1]!)).toContain('After the page break');

    expect(pdf.links[0]).toEqual(['https://example.com/docs']);
    expect(pdf.info).toMatchObject({ Title: 'Every block', Producer: 'notepad-export', Creator: 'notepad-export', CreationDate: 'D:20261129062500Z', ModDate: 'D:20261129062500Z' });
  });

  it('keeps code block lines apart', async () => {
    const result = await renderPdf(request({ blocks: [{ type: 'codeBlock', text: 'alpha();\n\n  beta(1,  2);\ngamma();' }] }));
    const lines = (await readPdf(result.pdf)).pages[0]!.split('\n').map(squash);
    const alpha = lines.indexOf('alpha();');
    expect(alpha).toBeGreaterThan(-1);
    expect(lines.slice(alpha + 1).filter(Boolean).slice(0, 2)).toEqual(['beta(1, 2);', 'gamma();']);
  });

  describe.each([
    { locale: 'en-US', timezone: 'America/New_York' },
    { locale: 'de-DE', timezone: 'Europe/Berlin' },
    { locale: 'ja-JP', timezone: 'Asia/Tokyo' },
  ])('formats for $locale / $timezone', ({ locale, timezone }) => {
    it('dates, times and numbers as Intl does', async () => {
      const instant = Date.UTC(2026, 0, 15, 23, 30); // late evening UTC: the local day differs by zone
      const content: Content = {
        blocks: [
          para(text('DT['), { type: 'dateTime', timestamp: instant }, text(']')),
          para(text('D['), { type: 'dateTime', timestamp: instant, style: 'date' }, text(']')),
          para(text('T['), { type: 'dateTime', timestamp: instant, style: 'time' }, text(']')),
          para(text('Z['), { type: 'dateTime', timestamp: instant, timezone: 'Pacific/Auckland' }, text(']')),
          para(text('C['), { type: 'date', value: '2026-03-01' }, text(']')),
          para(text('N['), { type: 'number', value: 1234567.891 }, text(']')),
          para(text('F['), { type: 'number', value: 2.71828, maximumFractionDigits: 2 }, text(']')),
        ],
      };
      const result = await renderPdf(request(content, { locale, timezone }));
      const page = squash((await readPdf(result.pdf)).pages.join('\n'));

      const dateTime = { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' } as const;
      const expected = {
        DT: new Intl.DateTimeFormat(locale, { ...dateTime, timeZone: timezone }).format(instant),
        D: new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: timezone }).format(instant),
        T: new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone: timezone }).format(instant),
        Z: new Intl.DateTimeFormat(locale, { ...dateTime, timeZone: 'Pacific/Auckland' }).format(instant),
        C: new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(Date.UTC(2026, 2, 1)),
        N: new Intl.NumberFormat(locale).format(1234567.891),
        F: new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(2.71828),
      };
      for (const [label, value] of Object.entries(expected)) {
        expect(page).toContain(squash(`${label}[${value}]`));
      }
      const exported = new Intl.DateTimeFormat(locale, {
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone: timezone,
      }).format(EXPORTED_AT);
      // The label is in the export's language (render-structure.test.ts covers every one).
      const label = { 'en-US': 'Exported', 'de-DE': 'Exportiert am', 'ja-JP': 'エクスポート日時' }[locale]!;
      expect(page).toContain(squash(`${label} ${exported}`));

      // Literals, so the test does not only compare Intl with itself.
      if (locale === 'de-DE') {
        expect(page).toContain('N[1.234.567,891]');
        expect(page).toContain('F[2,72]');
        expect(page).toContain('C[1. März 2026]');
      }
      if (locale === 'en-US') {
        expect(page).toContain('N[1,234,567.891]');
        expect(page).toContain('C[Mar 1, 2026]');
        expect(page).toContain('D[Jan 15, 2026]');
        expect(squash(page)).toContain('T[6:30 PM EST]');
      }
      if (locale === 'ja-JP') {
        // 23:30 UTC is already the next day in Tokyo.
        expect(page).toContain('D[2026年1月16日]');
        expect(page).toContain('C[2026年3月1日]');
      }
    });
  });

  it('shows the era of years before 1, never as if they were AD', async () => {
    const content: Content = {
      blocks: [
        para(text('MIN['), { type: 'dateTime', timestamp: -8.64e15, style: 'date' }, text(']')),
        para(text('ZERO['), { type: 'date', value: '0000-01-01' }, text(']')),
        para(text('ONE['), { type: 'date', value: '0001-03-01' }, text(']')),
        para(text('LATE['), { type: 'date', value: '2026-03-01' }, text(']')),
      ],
    };
    const page = squash((await readPdf((await renderPdf(request(content, { timezone: 'Etc/UTC' }))).pdf)).pages.join('\n'));
    expect(page).toContain('MIN[Apr 20, 271822 BC]');
    expect(page).toContain('ZERO[Jan 1, 1 BC]'); // the year 0 of ISO 8601 is 1 BC
    expect(page).toContain('ONE[Mar 1, 1 AD]');
    expect(page).toContain('LATE[Mar 1, 2026]'); // modern dates stay as they were
    const german = squash((await readPdf((await renderPdf(request(content, { locale: 'de-DE', timezone: 'Etc/UTC' }))).pdf)).pages.join('\n'));
    expect(german).toContain('ZERO[1. Jan. 1 v. Chr.]');
  });

  it('keeps Greek, Cyrillic, Japanese and Chinese text in the text layer', async () => {
    const samples = ['Καλημέρα κόσμε', 'Привет, мир', '日本語のテキスト', '中文文本', '我们说这是简体中文', '안녕하세요, 세계'];
    const content: Content = {
      blocks: [
        { type: 'heading', level: 2, content: [text(samples.join(' · '))] },
        para(text(`Mixed: ${samples[0]} / ${samples[1]} / ${samples[2]} / ${samples[3]}`)),
        para(text(samples[2]!, [{ type: 'bold' }]), text(' '), text(samples[3]!, [{ type: 'italic' }]), text(' '), text(samples[0]!, [{ type: 'code' }])),
        { type: 'table', header: [cell(samples[1]!)], rows: [[cell(samples[2]!)]] },
      ],
    };
    const result = await renderPdf(request(content, { title: samples[2]! }));
    expect(result.missingCodePoints).toEqual([]);
    const pdf = await readPdf(result.pdf);
    const page = squash(pdf.pages[0]!);
    expect(page).toContain(samples.join(' · '));
    expect(page).toContain(`Mixed: ${samples[0]} / ${samples[1]} / ${samples[2]} / ${samples[3]}`);
    expect(page).toContain(`${samples[2]} ${samples[3]} ${samples[0]}`);
    expect(pdf.info.Title).toBe(samples[2]);
  });

  it('reports code points no bundled font covers, without dropping the text around them', async () => {
    // U+10000 LINEAR B SYLLABLE B008 A and U+A000 YI SYLLABLE IT: in none of the bundled fonts.
    const content: Content = { blocks: [para(text('before \u{10000} middle ꀀ after 中 Ω'))] };
    const result = await renderPdf(request(content));
    expect(result.missingCodePoints).toEqual([0xa000, 0x10000]);
    const page = squash((await readPdf(result.pdf)).pages[0]!);
    expect(page).toContain('before');
    expect(page).toContain('middle');
    expect(page).toContain('after 中 Ω');
  });

  it('numbers every page "n / N" in the footer', async () => {
    const blocks: Block[] = [];
    for (let i = 1; i <= 4; i++) blocks.push(para(text(`Page body ${i}`)), { type: 'pageBreak' });
    const result = await renderPdf(request({ blocks }));
    const pdf = await readPdf(result.pdf);
    // The trailing page break has nothing after it, but still starts a (last, empty) page.
    expect(pdf.numPages).toBe(result.pageCount);
    const exported = squash(`Exported ${new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone: 'America/New_York' }).format(EXPORTED_AT)}`);
    expect(exported).toBe('Exported 11/29/2026, 1:25 AM EST');
    pdf.pages.forEach((raw, i) => {
      const page = squash(raw);
      expect(page).toContain(`${i + 1} / ${pdf.numPages}`);
      expect(page).toContain(exported);
    });
  });

  it('repeats a long table\'s header on every page it spans and never splits a row', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => [cell(`row-${i}`), cell(`value ${i * 7}`), cell(i % 10 === 0 ? 'a longer note that wraps onto a second line inside its narrow cell, on purpose' : 'ok')]);
    const content: Content = { blocks: [para(text('Intro')), { type: 'table', header: [cell('Identifier'), cell('Amount'), cell('Remarks')], rows }, para(text('Outro'))] };
    const result = await renderPdf(request(content));
    const pdf = await readPdf(result.pdf);
    expect(pdf.numPages).toBeGreaterThanOrEqual(4);

    const pagesWithRows = pdf.pages.map((p, i) => ({ i, p })).filter(({ p }) => /row-\d+/.test(p));
    expect(pagesWithRows.length).toBe(pdf.numPages);
    let next = 0;
    for (const { p } of pagesWithRows) {
      expect(p).toContain('Identifier');
      expect(p).toContain('Remarks');
      // Rows continue in order across pages, each complete on one page.
      for (const match of p.matchAll(/row-(\d+)/g)) expect(Number(match[1])).toBe(next++);
    }
    expect(next).toBe(200);
    for (let i = 0; i < 200; i += 10) {
      const page = pdf.pages.find((p) => p.includes(`row-${i}\n`) || p.includes(`row-${i}`))!;
      expect(squash(page)).toContain('a longer note that wraps');
    }
    expect(squash(pdf.pages[pdf.numPages - 1]!)).toContain('Outro');
  });

  it('splits a table row only when it alone is taller than a page, and code blocks across pages', async () => {
    const tall = Array.from({ length: 180 }, (_, i) => `line${i}`).join('\n');
    const code = Array.from({ length: 120 }, (_, i) => `print(${i})`).join('\n');
    const content: Content = {
      blocks: [
        { type: 'table', header: [cell('H1'), cell('H2')], rows: [[cell('short'), { content: [text(tall)] }], [cell('after'), cell('tall')]] },
        { type: 'codeBlock', text: code },
      ],
    };
    const result = await renderPdf(request(content));
    const pdf = await readPdf(result.pdf);
    const all = squash(pdf.pages.join('\n'));
    expect(firstOutOfOrder(all, ['line0', 'line90', 'line179', 'after', 'print(0)', 'print(119)'])).toBeUndefined();
    const tallPages = pdf.pages.filter((p) => /line\d+/.test(p));
    expect(tallPages.length).toBeGreaterThanOrEqual(2);
    for (const p of tallPages) expect(p).toContain('H1');
  });

  it('is deterministic: same request, same bytes; another export time, other bytes', async () => {
    const req = request(EVERY_BLOCK);
    const a = await renderPdf(req);
    const b = await renderPdf(structuredClone(req));
    expect(Buffer.from(a.pdf).equals(Buffer.from(b.pdf))).toBe(true);
    const c = await renderPdf({ ...req, exportedAt: EXPORTED_AT + 60_000 });
    expect(Buffer.from(a.pdf).equals(Buffer.from(c.pdf))).toBe(false);
  });

  it('throws ContentTooLargeError past maxPages, early, and past maxBytes', async () => {
    const blocks: Block[] = [];
    for (let i = 0; i < 50; i++) blocks.push(para(text(`page ${i}`)), { type: 'pageBreak' });
    const pages = renderPdf(request({ blocks }, { limits: { maxPages: 3 } }));
    await expect(pages).rejects.toBeInstanceOf(ContentTooLargeError);
    await expect(pages).rejects.toMatchObject({ limit: 'pages', max: 3, code: 'CONTENT_TOO_LARGE' });

    const bytes = renderPdf(request({ blocks: blocks.slice(0, 4) }, { limits: { maxBytes: 1000 } }));
    await expect(bytes).rejects.toMatchObject({ limit: 'bytes', max: 1000 });
    expect(isContentTooLarge(await bytes.catch((e: unknown) => e))).toBe(true);

    const fits = await renderPdf(request({ blocks: blocks.slice(0, 4) }, { limits: { maxPages: 3, maxBytes: 10_000_000 } }));
    expect(fits.pageCount).toBe(3);
    // A limit exactly the PDF's size still fits.
    const exact = await renderPdf(request({ blocks: blocks.slice(0, 4) }, { limits: { maxBytes: fits.pdf.byteLength } }));
    expect(Buffer.from(exact.pdf).equals(Buffer.from(fits.pdf))).toBe(true);
  });

  it('returns the PDF in a buffer of its own, exactly its size (the worker transfers the buffer)', async () => {
    for (const limits of [undefined, { maxBytes: 10_000_000 }]) {
      const { pdf } = await renderPdf(request({ blocks: [para(text('Sized.'))] }, limits ? { limits } : {}));
      expect(pdf.byteOffset).toBe(0);
      expect(pdf.buffer.byteLength).toBe(pdf.byteLength);
      expect(Buffer.from(pdf.subarray(0, 8)).toString('latin1')).toBe('%PDF-1.7');
      expect(Buffer.from(pdf.subarray(-6)).toString('latin1')).toBe('%%EOF\n');
    }
  });

  it('hands back exactly the bytes written, in a buffer of their own, whether copied out (small) or cut in place (large)', () => {
    for (const size of [30_000, ByteSink.COPY_OUT, ByteSink.COPY_OUT + 3 * 65_537]) {
      const sink = new ByteSink(undefined);
      const expected = Buffer.alloc(size);
      let at = 0;
      // Strings (as pdfkit's lines) and byte chunks (as its deflated streams), interleaved,
      // ending with strings that only toBytes() itself writes out.
      const tail = 45;
      for (let i = 0; at < size - tail; i++) {
        const length = Math.min(size - tail - at, i % 2 === 0 ? 41 : 65_537);
        const chunk = Buffer.alloc(length, (i * 7) % 251);
        chunk.copy(expected, at);
        if (i % 2 === 0) sink.writeLatin1(chunk.toString('latin1'));
        else sink.write(chunk);
        at += length;
      }
      expected.fill(0xe9, at);
      sink.writeLatin1('\u00e9'.repeat(tail));
      const bytes = sink.toBytes();
      expect(bytes.byteLength).toBe(size);
      expect(bytes.byteOffset).toBe(0);
      expect(bytes.buffer.byteLength).toBe(size);
      expect(Buffer.from(bytes).equals(expected)).toBe(true);
      // Copied out into a fixed buffer up to COPY_OUT; past it, the growable one cut in place.
      expect((bytes.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(size > ByteSink.COPY_OUT);
      // Either way the buffer is the PDF's alone: the render worker hands it over by transfer.
      const moved = structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] });
      expect(bytes.byteLength).toBe(0);
      expect(Buffer.from(moved).equals(expected)).toBe(true);
    }
  });
});
