import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { renderFont } from '../server/render/fonts.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { RTL_RUN } from '../server/render/scripts.js';
import { readPdf, type TextItem } from './render-pdf-text.js';

// Every script people write in: right-to-left paragraphs, shaping, Thai line breaks and
// the fonts behind them, read back from the PDF with pdfjs.
//
// pdfjs reads a line's pieces in the order they are drawn, and each right-to-left piece
// reversed back; it finds no space where the direction changes (it only sees a space as a
// gap before the next glyph, and the next logical piece lies to the left). So text is
// compared without whitespace: the order of every character is still checked.

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 0);
const RIGHT_MARGIN = 595.28 - 56;
const LEFT_MARGIN = 56;
const text = (t: string, marks?: Extract<InlineNode, { type: 'text' }>['marks']): InlineNode => (marks ? { type: 'text', text: t, marks } : { type: 'text', text: t });
const para = (t: string): Block => ({ type: 'paragraph', content: [text(t)] });
const bare = (s: string) => s.replace(/[\s\u200e\u200f\u061c]/g, '');

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Scripts', content, locale: 'en-US', timezone: 'UTC', exportedAt: EXPORTED_AT, ...overrides };
}

/** The body's lines (title and footer left out): pdfjs's items per baseline, top to bottom, in drawing order. */
async function bodyLines(content: Content, overrides: Partial<RenderRequest> = {}): Promise<TextItem[][]> {
  const result = await renderPdf(request(content, overrides));
  expect(result.missingCodePoints).toEqual([]);
  const items = (await readPdf(result.pdf)).items[0]!;
  const lines = new Map<number, TextItem[]>();
  for (const item of items) {
    const y = Math.round(item.y);
    lines.set(y, [...(lines.get(y) ?? []), item]);
  }
  // Title first, footer last.
  return [...lines.entries()].sort((a, b) => b[0] - a[0]).slice(1, -1).map(([, line]) => line);
}

const lineText = (line: TextItem[]) => line.map((i) => i.str).join('');
const right = (line: TextItem[]) => Math.max(...line.map((i) => i.x + i.width));
const left = (line: TextItem[]) => Math.min(...line.map((i) => i.x));
const xOf = (line: TextItem[], str: string) => {
  const item = line.find((i) => i.str.trim() === str);
  if (!item) throw new Error(`no item ${str} in ${JSON.stringify(line.map((i) => i.str))}`);
  return item.x;
};

describe('right-to-left paragraphs', () => {
  it('read a Hebrew paragraph with a number and Latin words back in logical order, laid out right to left', async () => {
    const hebrew = 'ההזמנה 4711 של Acme Corp נשלחה היום';
    const [line] = await bodyLines({ blocks: [para(hebrew)] }, { locale: 'he-IL' });
    expect(bare(lineText(line!))).toBe(bare(hebrew));
    // Right-aligned: the paragraph's first word ends at the right margin.
    expect(right(line!)).toBeCloseTo(RIGHT_MARGIN, 0);
    expect(xOf(line!, 'ההזמנה') + 1).toBeGreaterThan(xOf(line!, '4711'));
    // Right to left between the words, left to right inside the number and the Latin phrase.
    expect(xOf(line!, '4711')).toBeGreaterThan(xOf(line!, 'של'));
    expect(xOf(line!, 'של')).toBeGreaterThan(xOf(line!, 'Acme Corp'));
    expect(xOf(line!, 'Acme Corp')).toBeGreaterThan(xOf(line!, 'נשלחה היום'));
  });

  it('read an Arabic paragraph with a date and Arabic-Indic digits back in logical order, right-aligned', async () => {
    // A slash between digits keeps a date together after Arabic letters (a hyphen would not:
    // the bidi algorithm makes it a neutral, and the parts swap, as in every viewer).
    const arabic = 'تم شحن الطلب ١٢٣ في 2026/12/01 إلى الرياض';
    const [line] = await bodyLines({ blocks: [para(arabic)] }, { locale: 'ar-SA' });
    expect(bare(lineText(line!))).toBe(bare(arabic));
    expect(right(line!)).toBeCloseTo(RIGHT_MARGIN, 0);
    // The date and the number keep their own left-to-right order, to the left of what precedes them.
    expect(lineText(line!)).toContain('2026/12/01');
    expect(lineText(line!)).toContain('١٢٣');
    expect(xOf(line!, '2026/12/01')).toBeLessThan(xOf(line!, '١٢٣'));
  });

  it('mirror brackets in right-to-left text and draw punctuation at the text\'s size', async () => {
    const [line] = await bodyLines({ blocks: [para('נשלחה (היום), בסך')] }, { locale: 'he-IL' });
    // The opening bracket is on the right of the word and shows as ")" (rule L4), the closing one on its left.
    expect(xOf(line!, ')')).toBeGreaterThan(xOf(line!, 'היום'));
    expect(xOf(line!, '(')).toBeLessThan(xOf(line!, 'היום'));
    expect(xOf(line!, ',')).toBeLessThan(xOf(line!, '('));
    for (const mark of ['(', ')', ',']) expect(line!.find((i) => i.str.trim() === mark)!.width).toBeGreaterThan(2);
  });

  it('keep a left-to-right paragraph with Hebrew words in it left-aligned, the Hebrew words in place', async () => {
    const mixed = 'Hello שלום עולם world';
    const [line] = await bodyLines({ blocks: [para(mixed)] });
    expect(bare(lineText(line!))).toBe(bare(mixed));
    expect(left(line!)).toBeCloseTo(LEFT_MARGIN, 0);
    expect(xOf(line!, 'Hello')).toBeLessThan(xOf(line!, 'שלום עולם'));
    expect(xOf(line!, 'שלום עולם')).toBeLessThan(xOf(line!, 'world'));
  });

  it('right-align every line of a wrapped right-to-left paragraph, and a left-to-right one below it stays left', async () => {
    const long = Array.from({ length: 12 }, (_, i) => `משפט מספר ${i + 1} בפסקה ארוכה`).join(' ');
    const lines = await bodyLines({ blocks: [para(long), para('Left to right.')] }, { locale: 'he-IL' });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines.slice(0, -1)) expect(right(line)).toBeCloseTo(RIGHT_MARGIN, 0);
    expect(left(lines.at(-1)!)).toBeCloseTo(LEFT_MARGIN, 0);
    expect(bare(lines.slice(0, -1).map(lineText).join(''))).toBe(bare(long));
  });

  it('start a table cell of right-to-left text at the right, unless its column says otherwise', async () => {
    const cell = (t: string) => ({ content: [text(t)] });
    const lines = await bodyLines({
      blocks: [
        { type: 'table', header: [cell('Name'), cell('Note')], rows: [[cell('שלום'), cell('left')]], align: [null, 'left'] },
        { type: 'table', header: [cell('Note')], rows: [[cell('עולם')]], align: ['left'] },
      ],
    });
    const [header, row, secondHeader, secondRow] = lines;
    // The same padding from the cell's right edge as Latin text has from its left edge.
    const padding = left(header!) - LEFT_MARGIN;
    const firstColumnRight = xOf(header!, 'Note') - padding;
    expect(firstColumnRight - right([row!.find((i) => i.str === 'שלום')!])).toBeCloseTo(padding, 0);
    expect(xOf(row!, 'left')).toBeCloseTo(xOf(header!, 'Note'), 0);
    // An explicit left column keeps Hebrew at the left.
    expect(xOf(secondRow!, 'עולם')).toBeCloseTo(left(secondHeader!), 0);
  });

  it('shape Arabic in logical order and show the glyphs reversed: joined forms and the lam-alef ligature', () => {
    const font = renderFont('arabic') as { layout(text: string, features?: unknown): { glyphs: { id: number; codePoints: number[] }[] }; glyphForCodePoint(cp: number): { id: number } };
    const run = font.layout('بيت', RTL_RUN);
    // Visual order, left to right: ت, ي, ب; each in its joined form (final, medial, initial),
    // not the letter's isolated glyph.
    expect(run.glyphs.map((g) => g.codePoints)).toEqual([[0x62a], [0x64a], [0x628]]);
    for (const glyph of run.glyphs) expect(glyph.id).not.toBe(font.glyphForCodePoint(glyph.codePoints[0]!).id);
    expect(font.layout('سلام', RTL_RUN).glyphs.map((g) => g.codePoints)).toEqual([[0x645], [0x644, 0x627], [0x633]]);
  });
});

describe('complex scripts', () => {
  it('read Devanagari back in logical order, with conjuncts shaped into one glyph', async () => {
    const hindi = 'क्षमा करें, नमस्ते भारत';
    const [line] = await bodyLines({ blocks: [para(hindi)] }, { locale: 'hi-IN' });
    expect(bare(lineText(line!))).toBe(bare(hindi));
    const font = renderFont('devanagari') as { layout(text: string): { glyphs: { codePoints: number[] }[] } };
    expect(font.layout('क्ष').glyphs.map((g) => g.codePoints)).toEqual([[0x915, 0x94d, 0x937]]);
    // The vowel sign ि is shown before its consonant (fontkit's Indic shaper reorders it).
    expect(font.layout('कि').glyphs.map((g) => g.codePoints)).toEqual([[0x93f], [0x915]]);
  });

  it('break Thai lines only between words', async () => {
    const sentences = [
      'ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ',
      'การตัดบรรทัดจึงต้องใช้พจนานุกรมเพื่อหาขอบเขตของคำ',
      'รายงานประจำไตรมาสนี้แสดงว่ายอดขายเพิ่มขึ้นอย่างต่อเนื่อง',
      'ทีมงานได้ปรับปรุงระบบการจัดส่งสินค้าให้รวดเร็วยิ่งขึ้น',
    ];
    const thai = sentences.join('');
    const lines = await bodyLines({ blocks: [para(thai)] }, { locale: 'th-TH' });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const texts = lines.map((line) => bare(lineText(line)));
    expect(texts.join('')).toBe(thai);
    const boundaries = new Set([...new Intl.Segmenter('th', { granularity: 'word' }).segment(thai)].map((s) => s.index));
    let offset = 0;
    for (const lineString of texts.slice(0, -1)) {
      offset += lineString.length;
      expect(boundaries.has(offset), `line ends inside a word: …${thai.slice(offset - 6, offset)}|${thai.slice(offset, offset + 6)}…`).toBe(true);
    }
  });

  it('draw Khmer, Bengali, Burmese and emoji from bundled fonts, every character in the text layer', async () => {
    const samples = ['ភាសាខ្មែរ', 'বাংলা ভাষা', 'မြန်မာစာ', 'Launch 🚀 done 👍'];
    const lines = await bodyLines({ blocks: samples.map(para) });
    // Khmer and Burmese vowel signs drawn before their consonant are read back before it
    // (README, "Scripts and fonts"), so only the characters are compared here, not their order.
    const characters = (s: string) => [...bare(s)].sort();
    expect(lines.map((line) => characters(lineText(line)))).toEqual(samples.map(characters));
  });

  it('read every letter back as itself whichever came first, where the font draws one letter as another plus a mark or two characters with one glyph', async () => {
    // ई is drawn as इ plus a mark, ऐ as ए plus one, a precomposed nukta letter (क़ U+0958,
    // Bengali ড় U+09DC) as its base plus the nukta; Kangxi ⼀ and CJK 一 are one glyph of
    // Noto Sans JP; 👍🏽 is the emoji plus a skin-tone modifier. Each pair both ways round.
    const pairs = [
      ['ई', 'इ'], ['ऐ', 'ए'], ['\u0958', 'क'], ['\u095F', 'य'], ['\u09DC', 'ড'], ['\u09DD', 'ঢ'], ['\u09DF', 'য'], ['⼀', '一'], ['👍🏽', '👍'],
    ];
    const samples = pairs.flatMap(([a, b]) => [`${a} ${b} ${a}${b}`, `${b} ${a} ${b}${a}`]);
    const lines = await bodyLines({ blocks: samples.map(para) });
    // Nothing more either: a glyph with no text of its own used to read back as its glyph code (U+0002, or any letter).
    expect(lines.map((line) => bare(lineText(line)).normalize('NFC'))).toEqual(samples.map((sample) => bare(sample).normalize('NFC')));
  });

  it('read right-to-left letters back as themselves whichever came first: alef with hamza is drawn as alef plus a mark', async () => {
    // Noto Naskh draws إ and أ as the glyph of ا plus a hamza mark; right-to-left runs are
    // drawn in visual order, the mark before its base.
    const samples = ['إِ', 'الكتاب', 'أَ ا', 'ا أَ'];
    const lines = await bodyLines({ blocks: samples.map(para) }, { locale: 'ar-SA' });
    // pdfjs may read a right-to-left mark before its letter, on a baseline of its own: the
    // characters are compared, and the word of letters alone exactly.
    const characters = (s: string) => [...bare(s)].sort();
    expect(characters(lines.map(lineText).join(''))).toEqual(characters(samples.join('')));
    expect(lines.map((line) => bare(lineText(line)))).toContain('الكتاب');
  });

  it('read a Khmer split vowel back once, in its place: ោ and its kin are drawn as េ before the consonant and a part after it', async () => {
    // The shaper gives the part before the consonant a character of its own (េ) that the
    // text does not hold; it used to read back as an extra េ in front of every such syllable.
    const samples = ['កោ កើ កៀ កៅ កឿ', 'សៀវភៅ កៅអី ជើង ធ្វើការ', 'កេ គេ'];
    const lines = await bodyLines({ blocks: samples.map(para) }, { locale: 'km-KH' });
    const read = lines.map((line) => bare(lineText(line)));
    expect(read.slice(0, 2)).toEqual(samples.slice(0, 2).map(bare));
    // A real េ (no split) is still drawn, and read back, before its consonant.
    expect(read[2]).toBe('េកេគ');
  });

  // Random words of each script's letters, marks and digits, each a paragraph: every
  // character is read back, no more and no fewer (order aside: vowel signs drawn before their
  // consonant are read before it). Seeded, so a failure names words that can be replayed.
  const SCRIPT_RANGES: Record<string, Array<[number, number]>> = {
    devanagari: [[0x0900, 0x097f]],
    bengali: [[0x0980, 0x09ff]],
    thai: [[0x0e01, 0x0e5b]],
    khmer: [[0x1780, 0x17dd]],
    myanmar: [[0x1000, 0x109f]],
    arabic: [[0x0621, 0x0652]],
    hebrew: [[0x05b0, 0x05ea]],
    latin: [[0x61, 0x7a], [0xe0, 0xff], [0x300, 0x30f]],
  };
  for (const [script, ranges] of Object.entries(SCRIPT_RANGES)) {
    it(`read every character of random ${script} words back once`, async () => {
      let state = script.length * 7919;
      const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      const pool: string[] = [];
      for (const [from, to] of ranges) {
        for (let cp = from; cp <= to; cp++) {
          const ch = String.fromCodePoint(cp);
          // Letters, marks and digits; not the invisible ones (Khmer's inherent vowels), which are drawn as nothing.
          if (/[\p{L}\p{M}\p{N}]/u.test(ch) && !/\p{Default_Ignorable_Code_Point}/u.test(ch)) pool.push(ch);
        }
      }
      const words = Array.from({ length: 150 }, () => Array.from({ length: 1 + Math.floor(next() * 5) }, () => pool[Math.floor(next() * pool.length)]!).join(''));
      const result = await renderPdf(request({ blocks: words.map(para) }));
      expect(result.missingCodePoints).toEqual([]);
      const read = (await readPdf(result.pdf)).items.flat().map((item) => item.str).join('');
      const counts = (s: string) => {
        const seen = new Map<string, number>();
        for (const ch of s.normalize('NFD').replace(/[\s\u25CC]/g, '')) seen.set(ch, (seen.get(ch) ?? 0) + 1);
        return seen;
      };
      const expected = counts(words.join(''));
      const got = counts(read);
      const wrong: string[] = [];
      for (const ch of new Set([...expected.keys(), ...got.keys()])) {
        // The title and footer (printable ASCII) are read back too: more of those is not counted.
        const difference = (got.get(ch) ?? 0) - (expected.get(ch) ?? 0);
        const code = ch.codePointAt(0)!;
        if (difference < 0 || (difference > 0 && (code > 0x7e || code < 0x20))) wrong.push(`U+${ch.codePointAt(0)!.toString(16)} ${difference > 0 ? '+' : ''}${difference}`);
      }
      expect(wrong, words.join(' ')).toEqual([]);
    });
  }

  it('shape a word the same whatever was drawn before it: a vowel sign first met inside ऐ does not lose its character', async () => {
    // fontkit shapes from each glyph's characters; its glyph objects are shared by the
    // document, and the vowel sign े first met as the mark of ऐ used to keep no character,
    // so that करें after ऐ drew its anusvara on a dotted circle.
    const lines = await bodyLines({ blocks: ['ऐसा ऐ', 'करें में हैं'].map(para) }, { locale: 'hi-IN' });
    const read = lines.map((line) => bare(lineText(line)));
    expect(read).toEqual(['ऐसाऐ', 'करेंमेंहैं']);
    expect(read.join('')).not.toContain('\u25CC');
  });

  it('read a character back as itself after it was drawn once with a variation selector (a keycap, a text-style symbol)', async () => {
    const lines = await bodyLines({ blocks: [para('Press 1\uFE0F\u20E3 or a\uFE0E'), para('2011 total 1, banana')] });
    // The selectors choose a presentation: they are not read back, and nothing later inherits them.
    expect(bare(lineText(lines[1]!))).toBe('2011total1,banana');
    expect(bare(lineText(lines[0]!)).replace(/\u20E3/g, '')).toBe('Press1ora');
  });

  it('break a word longer than the line between user-perceived characters, never between a base and its vowel sign or accent', async () => {
    const words = ['বাংলা'.repeat(80), 'हिन्दी'.repeat(80), 'Cafe\u0301'.repeat(60)];
    const lines = await bodyLines({ blocks: words.map(para) });
    expect(lines.length).toBeGreaterThan(words.length);
    const read = lines.map((line) => bare(lineText(line)));
    // fontkit draws a mark with no base on a dotted circle, which the text layer reads back;
    // every character is read back once (pre-base vowel signs before their consonant, as ever).
    for (const text of read) expect(text).not.toContain('\u25CC');
    expect([...read.join('')].sort()).toEqual([...words.join('')].sort());
    // Latin: no line starts with an accent torn from its letter.
    for (const text of read.filter((t) => /^[A-Za-z\u0301]/.test(t))) expect(text, text.slice(0, 8)).not.toMatch(/^\p{M}/u);
  });

  it('draw a mark whose base has no anchor for it (Khmer nikahit, Thai ฬ with a vowel above, stacked accents in code) instead of failing the render', async () => {
    // Each of these made fontkit's mark positioning throw on the font's NULL anchor (server/render/gpos-anchors.ts).
    const samples = ['ភ្នំពេញ', 'សំខាន់ កំពង់ចាម', 'ฬิ ฬี ฬ่'];
    const code = 'Tiê\u0301ng Viê\u0323t';
    const lines = await bodyLines({ blocks: [...samples.map(para), { type: 'codeBlock', text: code }, { type: 'paragraph', content: [text('é\u0301', [{ type: 'code' }])] }] });
    const characters = (s: string) => [...bare(s)].sort();
    expect(lines.map((line) => characters(lineText(line)))).toEqual([...samples, code, 'é\u0301'].map(characters));
  });
});

describe('fonts', () => {
  it('embed every face a script is drawn in, bold ones for bold text, each as a subset with its font file', async () => {
    const content: Content = {
      blocks: [
        { type: 'heading', level: 1, content: [text('כותרת عنوان शीर्षक หัวข้อ')] },
        para('שלום مرحبا नमस्ते สวัสดี ភាសា বাংলা မြန်မာ 😀'),
      ],
    };
    const { pdf } = await renderPdf(request(content));
    const raw = Buffer.from(pdf).toString('latin1');
    const names = [...raw.matchAll(/\/FontName \/[A-Z]{6}\+([\w-]+)/g)].map((m) => m[1]!);
    for (const name of [
      'NotoSansHebrew',
      'NotoSansHebrew-Bold',
      'NotoNaskhArabic',
      'NotoNaskhArabic-Bold',
      'NotoSansDevanagari-Regular',
      'NotoSansDevanagari-Bold',
      'NotoSansThai-Regular',
      'NotoSansThai-Bold',
      'NotoSansKhmer-Regular',
      'NotoSansBengali-Regular',
      'NotoSansMyanmar-Regular',
      'NotoEmoji-Regular',
    ]) {
      expect(names).toContain(name);
    }
    const descriptors = [...raw.matchAll(/\/Type \/FontDescriptor[\s\S]*?>>/g)].map((m) => m[0]);
    expect(descriptors.length).toBe(names.length);
    for (const descriptor of descriptors) expect(descriptor).toMatch(/\/FontFile[23]? \d+ 0 R/);
  });
});
