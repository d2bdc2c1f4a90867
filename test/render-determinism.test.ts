import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Block, Content, InlineNode } from '../server/contract/content.js';
import { forgetLoadedFaces } from '../server/render/fonts.js';
import PDFDocument from 'pdfkit';
import { renderPdf } from '../server/render/render-pdf.js';
import { TextEngine } from '../server/render/text-layout.js';
import { DEMO_CONTENT } from '../server/seed.js';
import { firstOutOfOrder, readPdf, squash } from './render-pdf-text.js';

// Renders share decoded font tables within a worker (server/render/fonts.ts). Whatever a
// worker rendered before must not change a document's bytes: each document rendered cold
// (no face loaded yet) must match the same document rendered after any others.

const text = (t: string, marks?: Extract<InlineNode, { type: 'text' }>['marks']): InlineNode => (marks ? { type: 'text', text: t, marks } : { type: 'text', text: t });
const para = (...content: InlineNode[]): Block => ({ type: 'paragraph', content });

const DOCUMENTS: Record<string, Content> = {
  demo: DEMO_CONTENT,
  latin: {
    blocks: [
      { type: 'heading', level: 1, content: [text('Office fiscal affluence: ffi ffl fi fl')] },
      para(text('Bold '), text('italic ', [{ type: 'italic' }]), text('both ', [{ type: 'bold' }, { type: 'italic' }]), text('code', [{ type: 'code' }]), text(' Ωμέγα Привет')),
      { type: 'codeBlock', text: 'const office = "fi fl";\nreturn Привет;' },
      { type: 'bulletList', items: [{ content: [para(text('effort'))] }, { content: [para(text('fjord baffle'))] }] },
    ],
  },
  cjk: {
    blocks: [
      { type: 'heading', level: 2, content: [text('日本語の見出し 太字', [{ type: 'bold' }])] },
      para(text('これは日本語の段落です。漢字、ひらがな、カタカナ。一つ、豈。')),
      para(text('简体中文：我们这说。'), text(' 한국어 문장입니다.')),
      para(text('斜体の日本語', [{ type: 'italic' }]), text(' コード', [{ type: 'code' }])),
    ],
  },
  // U+2F00 KANGXI RADICAL ONE and U+F900 (a compatibility ideograph) share their glyphs
  // with 一 and 豈 above: a glyph cache carried over from this document would give the one
  // above these code points in its ToUnicode map.
  radicals: { blocks: [para(text('部首⼀と互換漢字豈'))] },
  // Shaped and reordered runs go through fontkit's whole-run layout, which pdfkit does not cache.
  scripts: {
    blocks: [
      { type: 'heading', level: 1, content: [text('כותרת عنوان शीर्षक')] },
      para(text('ההזמנה 4711 של Acme Corp נשלחה (היום).')),
      para(text('تم شحن الطلب ١٢٣ في 2026/12/01 إلى الرياض، شكراً.')),
      para(text('क्षमा करें, नमस्ते भारत। ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ ភាសាខ្មែរ 😀')),
    ],
  },
  mixed: {
    blocks: [
      para(text('Office 日本 fi 한국 Ωμέγα 们 '), text('bold 太字 fl', [{ type: 'bold' }])),
      {
        type: 'table',
        header: [{ content: [text('名前')] }, { content: [text('Value fi')] }],
        rows: [[{ content: [text('한국')] }, { content: [{ type: 'number', value: 1234.5 }] }]],
      },
    ],
  },
};

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 0, 0);
async function sha256Of(name: string): Promise<string> {
  const { pdf } = await renderPdf({ title: name, content: DOCUMENTS[name]!, locale: 'ja-JP', timezone: 'Asia/Tokyo', exportedAt: EXPORTED_AT });
  return createHash('sha256').update(pdf).digest('hex');
}

describe('renders sharing decoded font tables', () => {
  it('give every document the same bytes whatever was rendered before it in the worker', async () => {
    const names = Object.keys(DOCUMENTS);
    const cold = new Map<string, string>();
    for (const name of names) {
      forgetLoadedFaces();
      cold.set(name, await sha256Of(name));
    }
    expect(new Set(cold.values()).size).toBe(names.length);

    forgetLoadedFaces();
    for (const order of [names, [...names].reverse(), [names[3]!, names[2]!, names[0]!, names[4]!, names[1]!]]) {
      for (const name of order) expect(await sha256Of(name), `${name} after ${order.join(', ')}`).toBe(cold.get(name));
    }
  }, 60_000);
});

describe('layout caches bounded per face', () => {
  it('replace pdfkit\'s unbounded per-font layout cache (an alarm if pdfkit internals change)', () => {
    const doc = new PDFDocument({ autoFirstPage: false });
    new TextEngine(doc).useFace('sans');
    const font = (doc as unknown as { _font: { layoutCache: unknown; layoutCached: unknown } })._font;
    expect(font.layoutCache).toBeNull();
    expect(Object.hasOwn(font, 'layoutCached')).toBe(true);
    // Runs with a direction (right-to-left text) are laid out whole, and cached here.
    expect(Object.hasOwn(font, 'layoutRun')).toBe(true);
  });

  it('a document with more distinct words than the caches hold renders every word, in order, the same every time', async () => {
    const words = Array.from({ length: 6000 }, (_, i) => `w${i.toString(36)}x`);
    const content: Content = { blocks: Array.from({ length: 60 }, (_, p) => para(text(words.slice(p * 100, p * 100 + 100).join(' ')))) };
    const request = { title: 'Many words', content, locale: 'en-US', timezone: 'UTC', exportedAt: EXPORTED_AT };
    const first = await renderPdf(request);
    const second = await renderPdf(structuredClone(request));
    expect(Buffer.from(first.pdf).equals(Buffer.from(second.pdf))).toBe(true);
    const pdf = await readPdf(first.pdf);
    const all = squash(pdf.pages.join(' '));
    expect(firstOutOfOrder(all, words)).toBeUndefined();
  }, 60_000);
});
