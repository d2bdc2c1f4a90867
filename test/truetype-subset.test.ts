/**
 * server/render/truetype-subset.ts against fontkit's own TrueType subset, which pdfkit used
 * before: the same glyph ids and the same font file, byte for byte, for every bundled
 * TrueType face, composite glyphs included.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FACE_NAMES, faceBytes, renderFont, type FaceName } from '../server/render/fonts.js';
import { sfntTables, TrueTypeSubset, type TrueTypeTables } from '../server/render/truetype-subset.js';

interface FontkitSubset {
  includeGlyph(glyph: number): number;
  encode(): Uint8Array;
}
const require = createRequire(import.meta.url);
// The copy of fontkit pdfkit was installed with, as server/render/fonts.ts loads it.
const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as {
  create(bytes: Uint8Array): { createSubset(): FontkitSubset; getGlyph(id: number): { advanceWidth: number } };
};

/** Faces whose files are TrueType without variations (sfnt or WOFF): the ones the subset takes over. */
const TRUETYPE_FACES: FaceName[] = [
  'sans', 'sansBold', 'sansOblique', 'sansBoldOblique', 'mono', 'sc', 'kr', 'arabic', 'arabicBold', 'hebrew', 'hebrewBold',
  'devanagari', 'devanagariBold', 'thai', 'thaiBold', 'khmer', 'emoji', 'bengali', 'myanmar',
];

/** A deterministic generator, so a failure names a glyph set that can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

function compositeGlyphs(tables: TrueTypeTables): number[] {
  const ids: number[] = [];
  for (let gid = 0; gid < tables.advances.length; gid++) {
    const start = tables.loca[gid]!;
    if (tables.loca[gid + 1]! - start >= 10 && tables.glyf[start]! & 0x80) ids.push(gid);
  }
  return ids;
}

const readers = new Map<Uint8Array, ReturnType<typeof fontkit.create>>();
/** Whether fontkit reads the glyph's metrics without failing (its subset asks for them). */
function readable(bytes: Uint8Array, id: number): boolean {
  let font = readers.get(bytes);
  if (!font) {
    font = fontkit.create(bytes);
    readers.set(bytes, font);
  }
  try {
    return Number.isFinite(font.getGlyph(id).advanceWidth);
  } catch {
    return false;
  }
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface ParsedGlyph {
  advanceWidth: number;
  bbox: { minX: number; minY: number; maxX: number; maxY: number };
  path: { commands: Array<{ command: string; args: number[] }> };
}
/** A glyph of a font file as fontkit reads it (the subset's output, or the face itself). */
const glyphOf = (file: Uint8Array, id: number) =>
  (fontkit.create(file) as unknown as { getGlyph(id: number): ParsedGlyph }).getGlyph(id);
/** A glyph's outline as (command, points) pairs, each point moved by (dx, dy). */
const outline = (glyph: ParsedGlyph, dx = 0, dy = 0) =>
  glyph.path.commands.map(({ command, args }) => `${command} ${args.map((v, i) => Math.round((v + (i % 2 === 0 ? dx : dy)) * 1000) / 1000).join(' ')}`);
/** maxp's field at `at`, hhea's advanceWidthMax, and head's indexToLocFormat of a font file. */
function header(file: Uint8Array): { maxp: (at: number) => number; advanceWidthMax: number; locaFormat: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const table = (tag: string) => {
    for (let i = 0; i < view.getUint16(4); i++) {
      const entry = 12 + i * 16;
      if (String.fromCharCode(...file.subarray(entry, entry + 4)) === tag) return view.getUint32(entry + 8);
    }
    throw new Error(`no ${tag}`);
  };
  return { maxp: (at) => view.getUint16(table('maxp') + at), advanceWidthMax: view.getUint16(table('hhea') + 10), locaFormat: view.getInt16(table('head') + 50) };
}

describe('TrueType subset', () => {
  it('takes over every bundled TrueType face, WOFF files included, and leaves CFF ones to fontkit', () => {
    const taken = FACE_NAMES.filter((face) => sfntTables(faceBytes(face)) !== undefined);
    expect(taken.sort()).toEqual([...TRUETYPE_FACES].sort());
    // Noto Sans JP is CFF-flavoured OpenType; Bengali and Myanmar come as WOFF (deflated tables).
    for (const face of ['jp', 'jpBold'] as const) expect(sfntTables(faceBytes(face))).toBeUndefined();
    for (const face of ['bengali', 'myanmar'] as const) expect(String.fromCharCode(...faceBytes(face).subarray(0, 4))).toBe('wOFF');
    expect(renderFont('sans')).toMatchObject({ createSubset: expect.any(Function) });
    expect((renderFont('sans') as { createSubset(): unknown }).createSubset()).toBeInstanceOf(TrueTypeSubset);
    expect((renderFont('jp') as { createSubset(): unknown }).createSubset()).not.toBeInstanceOf(TrueTypeSubset);
  });

  for (const face of TRUETYPE_FACES) {
    it(`writes ${face} exactly as fontkit does, composites included, leaving the face's bytes untouched`, () => {
      const bytes = faceBytes(face);
      const before = sha(bytes);
      const tables = sfntTables(bytes)!;
      const composites = compositeGlyphs(tables);
      const next = random(face.length * 7919 + face.charCodeAt(0));
      const glyphCount = tables.advances.length;
      for (let trial = 0; trial < 8; trial++) {
        const ids = Array.from({ length: 1 + Math.floor(next() * 120) }, () => Math.floor(next() * glyphCount));
        // Composites, whose components join the subset as it is written, in every other trial.
        if (composites.length > 0 && trial % 2 === 0) for (let i = 0; i < 6; i++) ids.push(composites[Math.floor(next() * composites.length)]!);
        // Only glyphs fontkit itself can read: from a WOFF file it fails on an empty last glyph (see below).
        ids.splice(0, ids.length, ...ids.filter((id) => readable(bytes, id)));
        // A fresh fontkit font each time: its subset reads the same shared file bytes.
        const reference = fontkit.create(bytes).createSubset();
        const subset = new TrueTypeSubset(tables);
        for (const id of ids) expect(subset.includeGlyph(id)).toBe(reference.includeGlyph(id));
        const ours = subset.encode();
        expect(Buffer.from(ours).equals(Buffer.from(reference.encode())), `${face}, glyphs ${ids.join(',')}`).toBe(true);
      }
      // The tables patched for the subset are copies: the file every later render parses is unchanged.
      expect(sha(bytes)).toBe(before);
    });
  }

  it("embeds a WOFF face's empty last glyph, where fontkit's own subset fails", () => {
    // Noto Sans Bengali's last glyph (dummymarkbeng) has no outline; fontkit reads its header past the inflated glyf table.
    const bytes = faceBytes('bengali');
    const tables = sfntTables(bytes)!;
    const last = tables.advances.length - 1;
    expect(tables.loca[last]).toBe(tables.loca[last + 1]);
    expect(readable(bytes, last)).toBe(false);
    const subset = new TrueTypeSubset(tables);
    expect(subset.includeGlyph(last)).toBe(1);
    const file = subset.encode();
    // Two glyphs (.notdef and it), the second with no bytes: its loca entries (long format here) are equal.
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const locaEntry = Array.from({ length: view.getUint16(4) }, (_, i) => 12 + i * 16).find((entry) => String.fromCharCode(...file.subarray(entry, entry + 4)) === 'loca')!;
    const loca = view.getUint32(locaEntry + 8);
    const format = tables.locaFormat;
    const at = (i: number) => (format === 0 ? view.getUint16(loca + i * 2) * 2 : view.getUint32(loca + i * 4));
    expect(at(1)).toBe(at(2));
    expect(at(1)).toBeGreaterThan(0);
  });

  it('adds a copy of a glyph under a new id: the same outline and advance', () => {
    const bytes = faceBytes('devanagari');
    const subset = new TrueTypeSubset(sfntTables(bytes)!);
    const glyph = 7; // इ
    expect(subset.includeGlyph(glyph)).toBe(1);
    expect(subset.includeGlyphCopy(glyph)).toBe(2);
    // The original keeps its id; a second copy is another glyph again.
    expect(subset.includeGlyph(glyph)).toBe(1);
    expect(subset.includeGlyphCopy(glyph)).toBe(3);
    const file = subset.encode();
    const original = glyphOf(bytes, glyph);
    for (const id of [1, 2, 3]) {
      expect(outline(glyphOf(file, id))).toEqual(outline(original));
      expect(glyphOf(file, id).advanceWidth).toBe(original.advanceWidth);
    }
  });

  it('adds a composite of glyphs at offsets: their outlines moved, its own advance, a box around them', () => {
    const bytes = faceBytes('devanagari');
    const tables = sfntTables(bytes)!;
    const subset = new TrueTypeSubset(tables);
    // ई as the font draws it: the glyph of इ, and a mark over it.
    const [base, mark] = [7, 503];
    const composite = subset.includeComposite([{ glyph: base, dx: 0, dy: 0 }, { glyph: mark, dx: 120, dy: -35 }], 777);
    // The parts joined the subset first.
    expect(composite).toBe(3);
    expect(subset.includeGlyph(base)).toBe(1);
    expect(subset.includeGlyph(mark)).toBe(2);
    const file = subset.encode();
    const drawn = glyphOf(file, composite);
    expect(outline(glyphOf(bytes, mark)).length).toBeGreaterThan(0);
    expect(outline(drawn)).toEqual([...outline(glyphOf(bytes, base)), ...outline(glyphOf(bytes, mark), 120, -35)]);
    expect(drawn.advanceWidth).toBe(777);
    const [b, m] = [glyphOf(bytes, base).bbox, glyphOf(bytes, mark).bbox];
    expect(drawn.bbox).toMatchObject({ minX: Math.min(b.minX, m.minX + 120), minY: Math.min(b.minY, m.minY - 35), maxX: Math.max(b.maxX, m.maxX + 120), maxY: Math.max(b.maxY, m.maxY - 35) });
    // maxp's limits cover it: two components, one level; hhea's widest advance too.
    const fontMaxp = header(bytes).maxp;
    expect(header(file).maxp(28)).toBe(Math.max(2, fontMaxp(28)));
    expect(header(file).maxp(30)).toBe(Math.max(1, fontMaxp(30)));
    expect(header(file).advanceWidthMax).toBeGreaterThanOrEqual(777);
  });

  it('counts a composite inside a composite one level deeper in maxp', () => {
    const bytes = faceBytes('sans');
    const tables = sfntTables(bytes)!;
    const inner = compositeGlyphs(tables)[0]!;
    const subset = new TrueTypeSubset(tables);
    const id = subset.includeComposite([{ glyph: inner, dx: 0, dy: 0 }, { glyph: 36, dx: 600, dy: 0 }], 1800);
    const file = subset.encode();
    expect(header(file).maxp(30)).toBe(header(bytes).maxp(30) + 1);
    expect(outline(glyphOf(file, id))).toEqual([...outline(glyphOf(bytes, inner)), ...outline(glyphOf(bytes, 36), 600, 0)]);
  });

  it('switches to long loca offsets when copies make the glyph data longer than short ones reach', () => {
    const bytes = faceBytes('devanagari');
    const tables = sfntTables(bytes)!;
    expect(tables.locaFormat).toBe(0);
    // The longest glyph, copied until its copies pass 128 KiB.
    let longest = 0;
    for (let gid = 1; gid < tables.advances.length; gid++) if (tables.loca[gid + 1]! - tables.loca[gid]! > tables.loca[longest + 1]! - tables.loca[longest]!) longest = gid;
    const size = tables.loca[longest + 1]! - tables.loca[longest]!;
    const subset = new TrueTypeSubset(tables);
    subset.includeGlyph(longest);
    let last = 0;
    for (let i = 0; i * size < 0x20000; i++) last = subset.includeGlyphCopy(longest);
    const file = subset.encode();
    expect(header(file).locaFormat).toBe(1);
    expect(outline(glyphOf(file, last))).toEqual(outline(glyphOf(bytes, longest)));
    // Without copies the font's own format stays, as fontkit writes it (checked byte for byte above).
    const plain = new TrueTypeSubset(tables);
    plain.includeGlyph(longest);
    expect(header(plain.encode()).locaFormat).toBe(0);
  });

  it('renumbers a composite glyph\'s components to their ids in the subset', () => {
    const tables = sfntTables(faceBytes('sans'))!;
    const composite = compositeGlyphs(tables)[0]!;
    const subset = new TrueTypeSubset(tables);
    expect(subset.includeGlyph(composite)).toBe(1);
    const file = subset.encode();
    // The components were added after the composite: the subset has more than the two glyphs asked for.
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const numTables = view.getUint16(4);
    const table = (tag: string) => {
      for (let i = 0; i < numTables; i++) {
        const entry = 12 + i * 16;
        if (String.fromCharCode(...file.subarray(entry, entry + 4)) === tag) return { offset: view.getUint32(entry + 8), length: view.getUint32(entry + 12) };
      }
      throw new Error(`no ${tag}`);
    };
    const numGlyphs = view.getUint16(table('maxp').offset + 4);
    expect(numGlyphs).toBeGreaterThan(2);
    // The composite's first component id, read from the subset's glyf through its loca (long format).
    const loca = table('loca');
    const glyf = table('glyf');
    const start = glyf.offset + view.getUint32(loca.offset + 4);
    expect(view.getInt16(start)).toBeLessThan(0);
    expect(view.getUint16(start + 12)).toBe(2);
  });
});
