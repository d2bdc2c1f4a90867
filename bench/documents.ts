/**
 * The documents the render scenarios print, and the raw-pdfkit baseline that prints the
 * same text in the same faces with none of our layout.
 */
import PDFDocument from 'pdfkit';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { faceBytes, type FaceName } from '../server/render/fonts.js';
import { SCRIPT_FACES } from '../server/render/scripts.js';

/** The demo document's title in server/seed.ts, and the target every bench export uses. */
export const DEMO_TITLE = 'Quarterly operations review';
export const RENDER_TARGET = { locale: 'en-US', timezone: 'America/New_York' } as const;

// Deterministic, so every run (and both engines) prints exactly the same characters.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'account action amount analysis annual approval archive balance batch budget capacity carrier channel ' +
  'client cluster committee contract cost coverage customer cycle dashboard deadline delivery demand deployment ' +
  'design device dispatch document draft estimate export facility feedback filing forecast freight funding ' +
  'growth handover incident index inventory invoice ledger license logistics margin market meeting metric ' +
  'milestone network notice operation order outage partner payment pipeline policy portfolio pricing process ' +
  'procurement product programme project quality quarter ratio region release report request resource revenue ' +
  'review risk route sample schedule segment service shipment site status storage summary supplier support ' +
  'system target team tender timeline transfer trend update usage vendor volume warehouse workflow'
).split(' ');

const JAPANESE = [
  '今四半期の売上高は前年同期比で一二パーセント増加し、主要な地域すべてで目標を上回りました。',
  '物流センターの稼働率は改善しており、出荷の遅延件数は先月から半減しています。',
  '新しい請求システムへの移行は予定どおり完了し、顧客からの問い合わせも減少しました。',
  '来期に向けて、東京と大阪の倉庫で在庫管理の自動化を段階的に進める計画です。',
  'サポート窓口の平均応答時間は四分を下回り、満足度調査の結果も良好でした。',
];
const GREEK_CYRILLIC = ['Ελλάδα: αύξηση εσόδων κατά 8%', 'Россия: объём поставок вырос на 5%', 'Κύπρος και Україна: νέα γραφεία'];

/** A Latin sentence of `n` words from the vocabulary. */
function sentence(rand: () => number, n: number): string {
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  const first = words[0]!;
  words[0] = first[0]!.toUpperCase() + first.slice(1);
  return `${words.join(' ')}.`;
}

function richParagraph(rand: () => number, section: number): InlineNode[] {
  return [
    { type: 'text', text: `${sentence(rand, 14)} ${sentence(rand, 11)} ` },
    { type: 'text', text: sentence(rand, 4), marks: [{ type: 'bold' }] },
    { type: 'text', text: ' The total was ' },
    { type: 'number', value: 1000 + section * 7919.37, maximumFractionDigits: 2 },
    { type: 'text', text: ` units on ` },
    { type: 'dateTime', timestamp: Date.UTC(2026, section % 12, 1 + (section % 27), 9, 30), style: 'date' },
    { type: 'text', text: `. ${sentence(rand, 16)} ` },
    { type: 'text', text: sentence(rand, 5), marks: [{ type: 'italic' }] },
    { type: 'text', text: ' See ' },
    { type: 'text', text: 'the methodology', marks: [{ type: 'link', href: 'https://example.com/methodology' }] },
    { type: 'text', text: ' and run ' },
    { type: 'text', text: 'export --all', marks: [{ type: 'code' }] },
    { type: 'text', text: `. ${sentence(rand, 18)}` },
  ];
}

const item = (content: InlineNode[], nested?: Block) => ({
  content: nested ? [{ type: 'paragraph' as const, content }, nested] : [{ type: 'paragraph' as const, content }],
});

/** One "section": a bit of every common block, about two-thirds of a page. */
function section(rand: () => number, i: number): Block[] {
  const blocks: Block[] = [
    { type: 'heading', level: 2, content: [{ type: 'text', text: `${i + 1}. ${sentence(rand, 3).slice(0, -1)}` }] },
    { type: 'paragraph', content: richParagraph(rand, i) },
    {
      type: 'bulletList',
      items: [
        item([{ type: 'text', text: sentence(rand, 9) }]),
        item(
          [{ type: 'text', text: sentence(rand, 6) }],
          { type: 'orderedList', items: [item([{ type: 'text', text: sentence(rand, 5) }]), item([{ type: 'text', text: sentence(rand, 7) }])] },
        ),
        item([{ type: 'text', text: sentence(rand, 12) }]),
      ],
    },
    {
      type: 'table',
      header: ['Region', 'Volume', 'Closed on', 'Note'].map((text) => ({ content: [{ type: 'text' as const, text }] })),
      rows: Array.from({ length: 5 }, (_, r) => [
        { content: [{ type: 'text' as const, text: r === 1 ? '日本 (Japan)' : WORDS[(i * 5 + r) % WORDS.length]! }] },
        { content: [{ type: 'number' as const, value: (i + 1) * (r + 3) * 1234.5 }] },
        { content: [{ type: 'dateTime' as const, timestamp: Date.UTC(2026, r, 10 + r), style: 'date' as const }] },
        { content: [{ type: 'text' as const, text: sentence(rand, 4) }] },
      ]),
    },
    { type: 'paragraph', content: [{ type: 'text', text: JAPANESE[i % JAPANESE.length]! + JAPANESE[(i + 2) % JAPANESE.length]! }] },
  ];
  if (i % 3 === 0) blocks.push({ type: 'quote', content: [{ type: 'paragraph', content: [{ type: 'text', text: sentence(rand, 15) }] }] });
  if (i % 4 === 1) blocks.push({ type: 'codeBlock', language: 'sql', text: 'SELECT region, sum(volume)\n  FROM shipments\n GROUP BY region;' });
  if (i % 4 === 2) blocks.push({ type: 'paragraph', content: [{ type: 'text', text: GREEK_CYRILLIC[i % GREEK_CYRILLIC.length]! }] });
  return blocks;
}

/** A mixed document of `sections` sections (see `section`); pages grow linearly with it. */
export function mixedDocument(sections: number): Content {
  const rand = prng(0x5eed);
  const blocks: Block[] = [];
  for (let i = 0; i < sections; i++) blocks.push(...section(rand, i));
  return { blocks };
}

// ---- the scripts document: right to left, Devanagari, Thai ----------------------------

const HEBREW = 'הזמנה משלוח לקוח ספק מחסן דוח רבעון תקציב הכנסות הוצאות פרויקט צוות לוח זמנים אישור חשבונית מלאי שירות איכות סיכון יעד תהליך עדכון'.split(' ');
const ARABIC = 'الطلب الشحن العميل المورد المستودع التقرير الربع الميزانية الإيرادات المصروفات المشروع الفريق الجدول الموافقة الفاتورة المخزون الخدمة الجودة المخاطر الهدف'.split(' ');
const HINDI = 'आदेश शिपमेंट ग्राहक आपूर्तिकर्ता गोदाम रिपोर्ट तिमाही बजट राजस्व व्यय परियोजना टीम समयसीमा स्वीकृति चालान भंडार सेवा गुणवत्ता जोखिम लक्ष्य प्रक्रिया क्षेत्र'.split(' ');
const THAI = [
  'รายงานประจำไตรมาสนี้แสดงว่ายอดขายเพิ่มขึ้นอย่างต่อเนื่อง',
  'ทีมงานได้ปรับปรุงระบบการจัดส่งสินค้าให้รวดเร็วยิ่งขึ้น',
  'ลูกค้าส่วนใหญ่พึงพอใจกับบริการหลังการขาย',
  'การย้ายระบบใบแจ้งหนี้ใหม่เสร็จสมบูรณ์ตามกำหนดเวลา',
  'คลังสินค้าในกรุงเทพมหานครมีอัตราการใช้งานสูงขึ้น',
];

const phrase = (rand: () => number, words: readonly string[], n: number, stop = '.') =>
  Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]!).join(' ') + stop;

/** About a page: Hebrew with numbers and Latin names, Arabic with dates, Devanagari, Thai, a table. */
function scriptsSection(rand: () => number, i: number): Block[] {
  const t = (text: string): InlineNode => ({ type: 'text', text });
  const paragraph = (content: InlineNode[]): Block => ({ type: 'paragraph', content });
  return [
    { type: 'heading', level: 2, content: [t(`${phrase(rand, HEBREW, 3, '')} ${i + 1}`)] },
    paragraph([t(`${phrase(rand, HEBREW, 12)} `), { type: 'number', value: 1000 + i * 7919.37, maximumFractionDigits: 2 }, t(` ${phrase(rand, HEBREW, 5, '')} `), t('Acme Corp'), t(` ${phrase(rand, HEBREW, 18)}`)]),
    paragraph([t(`${phrase(rand, ARABIC, 10)} `), { type: 'dateTime', timestamp: Date.UTC(2026, i % 12, 1 + (i % 27), 9, 30), style: 'date' }, t(` ${phrase(rand, ARABIC, 22)}`)]),
    paragraph([t(`${phrase(rand, HINDI, 20, '।')} ${phrase(rand, HINDI, 16, '।')}`)]),
    paragraph([t(THAI[i % THAI.length]! + THAI[(i + 1) % THAI.length]! + THAI[(i + 3) % THAI.length]!)]),
    {
      type: 'table',
      header: ['שם', 'الكمية', 'विवरण'].map((text) => ({ content: [t(text)] })),
      rows: Array.from({ length: 4 }, (_, r) => [
        { content: [t(phrase(rand, HEBREW, 2, ''))] },
        { content: [{ type: 'number' as const, value: (i + 1) * (r + 3) * 12.5 }] },
        { content: [t(phrase(rand, HINDI, 4, ''))] },
      ]),
    },
    paragraph([t(`${phrase(rand, ARABIC, 14)} `), t(THAI[(i + 2) % THAI.length]!)]),
  ];
}

/** `sections` scripts sections (see scriptsSection); pages grow linearly with it. */
export function scriptsDocument(sections: number): Content {
  const rand = prng(0x5c1e);
  const blocks: Block[] = [];
  for (let i = 0; i < sections; i++) blocks.push(...scriptsSection(rand, i));
  return { blocks };
}

// ---- the raw pdfkit baseline ----------------------------------------------------------

export interface PlainRun {
  text: string;
  face: FaceName;
  size: number;
}

/** One pdfkit `text` call: runs printed with `continued`, then a line break. */
export interface PlainLine {
  runs: PlainRun[];
  indent: number;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const dateFormat = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'America/New_York' });

function inlineText(node: InlineNode): string {
  switch (node.type) {
    case 'text':
      return node.text;
    case 'number':
      return numberFormat.format(node.value);
    case 'dateTime':
      return dateFormat.format(node.timestamp);
    case 'date':
      return node.value;
    case 'objectReference':
      return node.title;
    case 'objectSetReference':
      return node.title ?? node.objectSetRid;
    case 'parameter':
      return `{{${node.name}}}`;
  }
}

function faceOf(node: InlineNode, bold: boolean): FaceName {
  const text = inlineText(node);
  if (CJK.test(text)) return bold ? 'jpBold' : 'jp';
  // The scripts document keeps each run in one script, so its script's face draws all of it.
  for (const ch of text) {
    const script = SCRIPT_FACES.find((s) => s.test.test(ch));
    if (script) return (bold ? script.bold : script.regular)[0]!;
  }
  const marks = node.type === 'text' ? (node.marks ?? []) : [];
  if (marks.some((m) => m.type === 'code')) return 'mono';
  const b = bold || marks.some((m) => m.type === 'bold');
  const it = marks.some((m) => m.type === 'italic');
  return b && it ? 'sansBoldOblique' : b ? 'sansBold' : it ? 'sansOblique' : 'sans';
}

const runsOf = (nodes: InlineNode[], size: number, bold = false): PlainRun[] =>
  nodes.map((node) => ({ text: inlineText(node), face: faceOf(node, bold), size }));

/**
 * The document as plain lines of face-tagged text, computed once before timing: the
 * baseline pays only for pdfkit putting those characters on pages.
 */
export function plainLines(content: Content): PlainLine[] {
  const lines: PlainLine[] = [];
  const walk = (blocks: Block[], indent: number) => {
    for (const block of blocks) {
      switch (block.type) {
        case 'heading':
          lines.push({ runs: runsOf(block.content, 15, true), indent });
          break;
        case 'paragraph':
          lines.push({ runs: runsOf(block.content, 11), indent });
          break;
        case 'bulletList':
        case 'orderedList':
          for (const listItem of block.items) walk(listItem.content, indent + 20);
          break;
        case 'table':
          for (const row of [block.header, ...block.rows]) {
            lines.push({ runs: row.flatMap((cell) => [...runsOf(cell.content, 9.5), { text: '   ', face: 'sans' as const, size: 9.5 }]), indent });
          }
          break;
        case 'codeBlock':
          lines.push({ runs: [{ text: block.text, face: 'mono', size: 9 }], indent });
          break;
        case 'quote':
          walk(block.content, indent + 14);
          break;
        case 'divider':
        case 'pageBreak':
          break;
      }
    }
  };
  walk(content.blocks, 0);
  // Neighbouring runs in one face become one string, as the subject merges equal-style fragments.
  for (const line of lines) {
    const merged: PlainRun[] = [];
    for (const run of line.runs) {
      const last = merged[merged.length - 1];
      if (last && last.face === run.face && last.size === run.size) last.text += run.text;
      else merged.push({ ...run });
    }
    line.runs = merged;
  }
  return lines;
}

/** Characters per line for a face and size when nothing is measured: roughly a full line. */
function charsPerLine(face: FaceName, size: number, width: number): number {
  const em = face === 'jp' || face === 'jpBold' ? 1 : face === 'mono' ? 0.6 : 0.55;
  return Math.max(8, Math.floor(width / (size * em)));
}

/**
 * pdfkit alone: same page size, margins and faces, every run cut into lines by character
 * count and drawn at a fixed position with `lineBreak: false`, so nothing is measured,
 * wrapped or shaped by us; no footers. What remains is pdfkit's own cost per character
 * (encoding, glyph widths, font subsetting, compression): the floor for the same text.
 */
export async function renderPlain(title: string, lines: PlainLine[]): Promise<{ bytes: number; pageCount: number }> {
  const top = 56;
  const bottom = 841.89 - 62;
  const left = 56;
  const width = 595.28 - 112;
  const doc = new PDFDocument({ size: [595.28, 841.89], margins: { top, bottom: 62, left, right: 56 }, pdfVersion: '1.7' });
  let bytes = 0;
  let pageCount = 1;
  doc.on('pageAdded', () => pageCount++);
  doc.on('data', (chunk: Uint8Array) => {
    bytes += chunk.length;
  });
  const ended = new Promise<void>((resolve) => doc.on('end', resolve));
  const registered = new Set<FaceName>();
  const use = (face: FaceName) => {
    if (!registered.has(face)) {
      doc.registerFont(face, faceBytes(face) as Buffer);
      registered.add(face);
    }
    return doc.font(face);
  };
  let y = top;
  const draw = (text: string, face: FaceName, size: number, indent: number) => {
    if (y + size * 1.35 > bottom) {
      doc.addPage();
      y = top;
    }
    use(face).fontSize(size).text(text, left + indent, y, { lineBreak: false });
    y += size * 1.35;
  };
  draw(title, 'sansBold', 22, 0);
  for (const line of lines) {
    for (const run of line.runs) {
      const n = charsPerLine(run.face, run.size, width - line.indent);
      for (const piece of run.text.split('\n')) {
        const chars = [...piece];
        for (let i = 0; i < chars.length; i += n) draw(chars.slice(i, i + n).join(''), run.face, run.size, line.indent);
      }
    }
    y += 4;
  }
  doc.end();
  await ended;
  return { bytes, pageCount };
}
