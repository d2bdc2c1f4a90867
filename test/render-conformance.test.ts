import { describe, expect, it } from 'vitest';
import type { Content, InlineNode } from '../server/contract/content.js';
import { conformanceOf } from '../server/render/conformance.js';
import { FACE_NAMES } from '../server/render/fonts.js';
import { renderPdf, type RenderRequest } from '../server/render/render-pdf.js';
import { readObjects, refsIn, type PdfObjects } from './pdf-objects.js';
import { readPdf } from './render-pdf-text.js';

// What an export claims (PDF/A-2, PDF/UA-1) and the parts of the file those claims rest on:
// XMP identification, the output intent, embedded fonts, no encryption or transparency.
// pdfjs reads the info and XMP; the objects are read from the file for the rest.

const EXPORTED_AT = Date.UTC(2026, 10, 29, 6, 25, 7);
const text = (t: string, marks?: Extract<InlineNode, { type: 'text' }>['marks']): InlineNode => (marks ? { type: 'text', text: t, marks } : { type: 'text', text: t });

// Every face the renderer has (fonts.ts FACE_NAMES): DejaVu regular, bold, oblique, bold oblique and mono; Noto Sans JP regular and bold, SC, KR; the script faces.
const ALL_FACES: Content = {
  blocks: [
    { type: 'heading', level: 1, content: [text('Heading 見出し')] },
    { type: 'paragraph', content: [text('Plain '), text('bold ', [{ type: 'bold' }]), text('italic ', [{ type: 'italic' }]), text('both ', [{ type: 'bold' }, { type: 'italic' }]), text('code', [{ type: 'code' }])] },
    { type: 'paragraph', content: [text('日本語 简体中文们 한국어 '), text('link', [{ type: 'link', href: 'https://example.com/' }])] },
    // The script faces (scripts.ts SCRIPT_FACES): Arabic, Hebrew, Devanagari, Thai, Khmer, Bengali, Burmese, emoji; bold where they have it.
    { type: 'paragraph', content: [text('مرحبا שלום नमस्ते สวัสดี សួស្តី নমস্কার မင်္ဂလာပါ 😀')] },
    { type: 'paragraph', content: [text('مرحبا שלום नमस्ते สวัสดี', [{ type: 'bold' }])] },
    { type: 'codeBlock', text: 'return 0;' },
    { type: 'table', header: [{ content: [text('A')] }], rows: [[{ content: [{ type: 'number', value: 1.5 }] }]] },
  ],
};

function request(overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Conformance & <checks>', content: ALL_FACES, locale: 'en-US', timezone: 'UTC', exportedAt: EXPORTED_AT, ...overrides };
}

interface Export {
  bytes: Uint8Array;
  objects: PdfObjects;
  xmp: string;
  info: Record<string, unknown>;
  /** pdfjs' reading of the XMP: property name (lower case) -> value. */
  properties: Map<string, string>;
}

async function exportOf(overrides: Partial<RenderRequest> = {}): Promise<Export> {
  const { pdf } = await renderPdf(request(overrides));
  const objects = readObjects(pdf);
  const metadata = objects.resolve(objects.root().body, 'Metadata');
  const xmp = Buffer.from(metadata?.stream ?? new Uint8Array()).toString('utf8');
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, disableFontFace: true, isEvalSupported: false });
  try {
    const meta = await (await task.promise).getMetadata();
    const properties = new Map<string, string>(meta.metadata ? ([...(meta.metadata as unknown as Iterable<[string, string]>)] as [string, string][]) : []);
    return { bytes: pdf, objects, xmp, info: meta.info as Record<string, unknown>, properties };
  } finally {
    await task.destroy();
  }
}

describe('PDF/A-2a and PDF/UA-1', () => {
  it('identifies the file as PDF/A-2a and PDF/UA-1 in XMP that pdfjs parses, with its pdfuaid extension schema', async () => {
    const { properties, xmp } = await exportOf();
    expect(properties.get('pdfaid:part')).toBe('2');
    expect(properties.get('pdfaid:conformance')).toBe('A');
    expect(properties.get('pdfuaid:part')).toBe('1');
    // pdfuaid is not among PDF/A's predefined schemas: it is declared.
    expect(xmp).toMatch(/<pdfaSchema:namespaceURI>http:\/\/www\.aiim\.org\/pdfua\/ns\/id\/<\/pdfaSchema:namespaceURI>\s*<pdfaSchema:prefix>pdfuaid<\/pdfaSchema:prefix>/);
    expect(xmp).toMatch(/<pdfaProperty:name>part<\/pdfaProperty:name>\s*<pdfaProperty:valueType>Integer<\/pdfaProperty:valueType>/);
    expect(xmp).toMatch(/^<\?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"\?>/);
    expect(xmp).toMatch(/<\?xpacket end="w"\?>$/);
  });

  it('says in XMP what the info dictionary says: title (escaped), dates, creator, producer, and the language', async () => {
    const { properties, info, xmp } = await exportOf();
    expect(info.Title).toBe('Conformance & <checks>');
    expect(properties.get('dc:title')).toBe('Conformance & <checks>');
    expect(xmp).toContain('Conformance &amp; &lt;checks&gt;');
    expect(info.CreationDate).toBe('D:20261129062507Z');
    expect(info.ModDate).toBe('D:20261129062507Z');
    expect(properties.get('xmp:createdate')).toBe('2026-11-29T06:25:07Z');
    expect(properties.get('xmp:modifydate')).toBe('2026-11-29T06:25:07Z');
    expect(properties.get('xmp:creatortool')).toBe(info.Creator);
    expect(properties.get('pdf:producer')).toBe(info.Producer);
    expect(properties.get('dc:language')).toBe('en-US');
    expect(info.Language).toBe('en-US');
  });

  it('holds no clock time or random id in XMP: only the export time, so re-rendering gives the same bytes', async () => {
    const first = await exportOf();
    const dates = [...first.xmp.matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g)].map((m) => m[0]);
    expect(new Set(dates)).toEqual(new Set(['2026-11-29T06:25:07Z']));
    expect(first.xmp).not.toMatch(/uuid:|InstanceID|DocumentID/);
    const again = await exportOf();
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  });

  it('drops characters XML cannot hold from the title, in the info dictionary and XMP alike', async () => {
    const { properties, info } = await exportOf({ title: 'Tab\there\u0001 bell\u0007 end' });
    expect(info.Title).toBe('Tab\there bell end');
    expect(properties.get('dc:title')).toBe('Tab\there bell end');
  });

  it('has an sRGB output intent whose profile is an RGB ICC profile', async () => {
    const { objects } = await exportOf();
    const [intentId] = refsIn(objects.root().body, 'OutputIntents');
    const intent = objects.objects.get(intentId!)!;
    expect(intent.body).toMatch(/\/Type \/OutputIntent/);
    expect(intent.body).toMatch(/\/S \/GTS_PDFA1/);
    expect(intent.body).toMatch(/\/OutputConditionIdentifier \(sRGB IEC61966-2\.1\)/);
    const profile = objects.resolve(intent.body, 'DestOutputProfile')!;
    expect(profile.body).toMatch(/\/N 3\b/);
    const icc = Buffer.from(profile.stream!);
    expect(icc.toString('latin1', 36, 40)).toBe('acsp');
    expect(icc.toString('latin1', 16, 20)).toBe('RGB ');
    expect(icc.readUInt32BE(0)).toBe(icc.length);
  });

  it('embeds every font it uses, in every face, and never a standard-14 font (pdfkit defaults to Helvetica)', async () => {
    const { objects, bytes } = await exportOf();
    const fonts = objects.ofType('Font');
    const topLevel = fonts.filter((f) => /\/Subtype \/Type0/.test(f.body));
    expect(topLevel.length).toBe(FACE_NAMES.length);
    for (const font of fonts) {
      expect(font.body).not.toMatch(/\/BaseFont \/(Helvetica|Times|Courier|Symbol|ZapfDingbats)/);
      expect(font.body).not.toMatch(/\/Subtype \/(Type1|TrueType|MMType1)\b/);
    }
    for (const font of topLevel) {
      expect(font.body).toMatch(/\/ToUnicode \d+ 0 R/);
      const [descendantId] = refsIn(font.body, 'DescendantFonts');
      const descendant = objects.objects.get(descendantId!)!;
      const descriptor = objects.resolve(descendant.body, 'FontDescriptor')!;
      expect(descriptor.body).toMatch(/\/FontFile[23] \d+ 0 R/);
      // A font program: TrueType (sfnt version 1.0, or 'true' as fontkit's subsetter writes it) or bare CFF (major version 1).
      const trueType = /\/FontFile2/.test(descriptor.body);
      const program = Buffer.from(objects.resolve(descriptor.body, trueType ? 'FontFile2' : 'FontFile3')!.stream!);
      if (trueType) expect([0x00010000, 0x74727565]).toContain(program.readUInt32BE(0));
      else expect(program[0]).toBe(1);
      expect(program.length).toBeGreaterThan(500);
    }
    // Every descriptor in the file has its font program.
    for (const descriptor of objects.ofType('FontDescriptor')) expect(descriptor.body).toMatch(/\/FontFile[23] \d+ 0 R/);
    expect(Buffer.from(bytes).toString('latin1')).not.toContain('Helvetica');
  });

  it('is not encrypted and uses no transparency', async () => {
    const { objects } = await exportOf();
    expect(objects.trailer).not.toMatch(/\/Encrypt/);
    for (const object of objects.objects.values()) {
      expect(object.body).not.toMatch(/\/SMask|\/Transparency|\/(CA|ca) (0(\.\d+)?|\.\d+)\b|\/BM \/(?!Normal)/);
    }
  });

  it('is PDF/A-2b without PDF/UA when the export claims no language', async () => {
    const { properties, info, objects } = await exportOf({ locale: 'und' });
    expect(info.Language ?? null).toBeNull();
    expect(properties.get('pdfaid:part')).toBe('2');
    expect(properties.get('pdfaid:conformance')).toBe('B');
    expect(properties.has('pdfuaid:part')).toBe(false);
    expect(properties.has('dc:language')).toBe(false);
    expect(refsIn(objects.root().body, 'OutputIntents')).toHaveLength(1);
  });

  it('draws no box for an invisible character no font has (U+061C in an Arabic negative number, bidi isolates, a variation selector), and keeps both claims', async () => {
    const content: Content = {
      blocks: [
        { type: 'paragraph', content: [{ type: 'number', value: -1234.5 }] },
        { type: 'paragraph', content: [text('a\u2068b\u2069c 葛\u{E0100}城 x\u180ey z\u{E0001}')] },
      ],
    };
    const { pdf, missingCodePoints, missingGlyphs } = await renderPdf(request({ content, locale: 'ar-EG' }));
    expect(missingCodePoints).toEqual([]);
    expect(missingGlyphs).toBe(0);
    const objects = readObjects(pdf);
    const xmp = Buffer.from(objects.resolve(objects.root().body, 'Metadata')!.stream!).toString('utf8');
    expect(xmp).toMatch(/pdfaid:part/);
    // The visible characters are all still there, in order.
    const visible = (await readPdf(pdf)).items[0]!.map((item) => item.str).join('').replace(/[\s\p{Default_Ignorable_Code_Point}]/gu, '');
    expect(visible).toContain('abc葛城xyz');
    expect(visible).toMatch(/١٬?٢٣٤٫٥/);
  });

  it('claims neither when a character no font covers was drawn as .notdef', async () => {
    const content: Content = { blocks: [{ type: 'paragraph', content: [text('Private use: \u{F0000}')] }] };
    const { pdf, missingCodePoints } = await renderPdf(request({ content }));
    expect(missingCodePoints).toEqual([0xf0000]);
    const objects = readObjects(pdf);
    const xmp = Buffer.from(objects.resolve(objects.root().body, 'Metadata')!.stream!).toString('utf8');
    expect(xmp).not.toMatch(/pdfaid|pdfuaid/);
    expect(objects.root().body).not.toMatch(/OutputIntents/);
    // Still tagged, titled and readable.
    expect(objects.root().body).toMatch(/\/StructTreeRoot/);
    expect((await readPdf(pdf)).info.Title).toBe('Conformance & <checks>');
  });
});

describe('conformanceOf', () => {
  it('is the rule: level a and PDF/UA with a language, b without, nothing with .notdef glyphs', () => {
    expect(conformanceOf('de-DE', false)).toEqual({ pdfa: 'A', pdfua: true });
    expect(conformanceOf(undefined, false)).toEqual({ pdfa: 'B', pdfua: false });
    expect(conformanceOf('de-DE', true)).toEqual({ pdfa: undefined, pdfua: false });
    expect(conformanceOf(undefined, true)).toEqual({ pdfa: undefined, pdfua: false });
  });
});
