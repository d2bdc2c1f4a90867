/**
 * server/render/cff-subset.ts: a CFF subset that keeps only the subroutines its glyphs call
 * draws every glyph exactly as the font does (fontkit reads each subset glyph's outline back
 * and compares it with the font's and with fontkit's own subset's), holds fewer subroutines,
 * and falls back to fontkit's subset where it meets what it does not understand.
 */
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { compactSubroutines, subroutineBias, type FontkitCffSubset } from '../server/render/cff-subset.js';
import { faceBytes, renderFont } from '../server/render/fonts.js';
import { renderPdf } from '../server/render/render-pdf.js';

interface FontkitGlyph {
  path: { toSVG(): string };
}
interface FontkitFont {
  numGlyphs: number;
  directory: { tables: Record<string, { offset: number; length: number }> };
  getGlyph(gid: number): FontkitGlyph;
  glyphsForString(text: string): Array<{ id: number }>;
  createSubset(): FontkitCffSubset & { includeGlyph(gid: number): number; encode(): Uint8Array };
  'CFF ': { globalSubrIndex: unknown[]; topDict: { FDArray: Array<{ Private?: { Subrs?: unknown[] } }> } };
}
const require = createRequire(import.meta.url);
const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(bytes: Uint8Array): FontkitFont };

/** An OpenType file around a subset's bare CFF table, so that fontkit can read its glyphs back. */
function openType(face: Uint8Array, cff: Uint8Array, numGlyphs: number): FontkitFont {
  const font = fontkit.create(face);
  const raw = (tag: string) => {
    const table = font.directory.tables[tag]!;
    return new Uint8Array(face.subarray(table.offset, table.offset + table.length));
  };
  const maxp = raw('maxp');
  maxp[4] = numGlyphs >> 8;
  maxp[5] = numGlyphs & 0xff;
  const hhea = raw('hhea');
  hhea[34] = 0;
  hhea[35] = 1;
  const tables: Array<[string, Uint8Array]> = [['CFF ', cff], ['head', raw('head')], ['hhea', hhea], ['hmtx', new Uint8Array(4 + 2 * numGlyphs)], ['maxp', maxp]];
  const directory = new Uint8Array(12 + tables.length * 16);
  const view = new DataView(directory.buffer);
  view.setUint32(0, 0x4f54544f); // 'OTTO'
  view.setUint16(4, tables.length);
  const parts: Uint8Array[] = [directory];
  let offset = directory.length;
  tables.forEach(([tag, data], i) => {
    for (let c = 0; c < 4; c++) directory[12 + i * 16 + c] = tag.charCodeAt(c);
    view.setUint32(12 + i * 16 + 8, offset);
    view.setUint32(12 + i * 16 + 12, data.length);
    const padded = new Uint8Array(Math.ceil(data.length / 4) * 4);
    padded.set(data);
    parts.push(padded);
    offset += padded.length;
  });
  return fontkit.create(Buffer.concat(parts));
}

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

/** Kept subroutines in a read-back subset: the global INDEX's count and each font dict's. */
function subroutineCounts(font: FontkitFont): { global: number; local: number[] } {
  const cff = font['CFF '];
  return { global: cff.globalSubrIndex.length, local: cff.topDict.FDArray.map((dict) => dict.Private?.Subrs?.length ?? 0) };
}

interface CffEntry {
  offset: number;
  length: number;
}
interface CffTable {
  stream: { buffer: Uint8Array };
  globalSubrIndex: CffEntry[];
  topDict: { CharStrings: CffEntry[]; FDArray: Array<{ Private?: { Subrs?: CffEntry[] } }> };
  fdForGlyph(gid: number): number;
}

/**
 * A glyph's charstring with every subroutine call inlined: the bytes an interpreter reads,
 * hints and mask bytes included, without the calls, their operands and the returns. The
 * same for the font and for a subset means each call reached the same subroutine, even one
 * that only hints (which an outline would not show).
 */
function inlined(cff: CffTable, gid: number): number[] {
  const bytes = cff.stream.buffer;
  const locals = cff.topDict.FDArray[cff.fdForGlyph(gid)]?.Private?.Subrs ?? [];
  const out: number[] = [];
  const state = { depth: 0, stems: 0, haveWidth: false, ended: false };
  const run = (entry: CffEntry): void => {
    let pos = entry.offset;
    let last: { value: number; at: number } | undefined;
    while (pos < entry.offset + entry.length && !state.ended) {
      const b0 = bytes[pos]!;
      const start = out.length;
      if (b0 >= 32 || b0 === 28) {
        const size = b0 === 28 ? 3 : b0 <= 246 ? 1 : b0 <= 254 ? 2 : 5;
        const value = b0 === 28 ? ((bytes[pos + 1]! << 24) | (bytes[pos + 2]! << 16)) >> 16 : b0 <= 246 ? b0 - 139 : b0 <= 250 ? (b0 - 247) * 256 + bytes[pos + 1]! + 108 : b0 <= 254 ? -(b0 - 251) * 256 - bytes[pos + 1]! - 108 : NaN;
        out.push(...bytes.subarray(pos, pos + size));
        pos += size;
        state.depth++;
        last = { value, at: start };
        continue;
      }
      pos++;
      if (b0 === 10 || b0 === 29) {
        const index = b0 === 29 ? cff.globalSubrIndex : locals;
        out.length = last!.at; // the operand is not part of what is drawn
        state.depth--;
        run(index[last!.value + subroutineBias(index.length)]!);
        last = undefined;
        continue;
      }
      last = undefined;
      if (b0 === 11) return;
      out.push(b0);
      if (b0 === 12) {
        out.push(bytes[pos++]!);
      } else if ([1, 3, 18, 23, 19, 20].includes(b0)) {
        if (state.depth % 2 !== 0 && !state.haveWidth) {
          state.haveWidth = true;
          state.depth--;
        }
        state.stems += state.depth >> 1;
        if (b0 === 19 || b0 === 20) {
          const maskBytes = (state.stems + 7) >> 3;
          out.push(...bytes.subarray(pos, pos + maskBytes));
          pos += maskBytes;
        }
      } else if (b0 === 21 && state.depth > 2) state.haveWidth = true;
      else if ((b0 === 22 || b0 === 4) && state.depth > 1) state.haveWidth = true;
      else if (b0 === 14) state.ended = true;
      state.depth = 0;
    }
  };
  run(cff.topDict.CharStrings[gid]!);
  return out;
}

const JAPANESE = '日本語の文書を書き出します。漢字、ひらがな、カタカナ、全角英数字ＡＢＣ１２３。';

describe('CFF subset with only the called subroutines', () => {
  for (const face of ['jp', 'jpBold'] as const) {
    it(`draws every ${face} glyph as the font and fontkit's subset do, with fewer subroutines`, () => {
      const bytes = faceBytes(face);
      const font = fontkit.create(bytes);
      const original = subroutineCounts(font);
      const next = random(face.length * 31 + 5);
      const sets = [
        font.glyphsForString(JAPANESE).map((glyph) => glyph.id),
        ...Array.from({ length: 5 }, () => Array.from({ length: 1 + Math.floor(next() * 200) }, () => Math.floor(next() * font.numGlyphs))),
      ];
      for (const ids of sets) {
        const reference = fontkit.create(bytes).createSubset();
        const subset = fontkit.create(bytes).createSubset();
        expect(compactSubroutines(subset)).toBe(true);
        for (const id of ids) expect(subset.includeGlyph(id)).toBe(reference.includeGlyph(id));
        const ours = subset.encode();
        const theirs = reference.encode();
        expect(ours.length).toBeLessThan(theirs.length);
        const count = reference.glyphs.length;
        const readOurs = openType(bytes, ours, count);
        const readTheirs = openType(bytes, theirs, count);
        const fontCff = font['CFF '] as unknown as CffTable;
        const oursCff = readOurs['CFF '] as unknown as CffTable;
        for (let i = 0; i < count; i++) {
          expect(inlined(oursCff, i), `${face} glyph ${reference.glyphs[i]}, inlined`).toEqual(inlined(fontCff, reference.glyphs[i]!));
          const outline = font.getGlyph(reference.glyphs[i]!).path.toSVG();
          expect(readOurs.getGlyph(i).path.toSVG(), `${face} glyph ${reference.glyphs[i]}`).toBe(outline);
          expect(readTheirs.getGlyph(i).path.toSVG()).toBe(outline);
        }
        // fontkit keeps every subroutine of each used dict; this subset only the called ones.
        const kept = subroutineCounts(readOurs);
        expect(subroutineCounts(readTheirs).global).toBe(original.global);
        expect(kept.global).toBeLessThan(original.global);
        expect(Math.max(...kept.local)).toBeLessThan(Math.max(...original.local));
      }
    });
  }

  it('takes every glyph of both Japanese faces without falling back, each reading as the font does', () => {
    for (const face of ['jp', 'jpBold'] as const) {
      const bytes = faceBytes(face);
      const font = fontkit.create(bytes);
      const subset = fontkit.create(bytes).createSubset();
      // fontkit's own charstring subset, which the walk falls back to: it must not run.
      const fallback = vi.spyOn(Object.getPrototypeOf(subset) as FontkitCffSubset, 'subsetCharstrings');
      let read: FontkitFont;
      try {
        compactSubroutines(subset);
        for (let gid = 0; gid < font.numGlyphs; gid++) subset.includeGlyph(gid);
        read = openType(bytes, subset.encode(), font.numGlyphs);
        expect(fallback).not.toHaveBeenCalled();
      } finally {
        fallback.mockRestore();
      }
      const fontCff = font['CFF '] as unknown as CffTable;
      const readCff = read['CFF '] as unknown as CffTable;
      for (let gid = 0; gid < font.numGlyphs; gid++) expect(inlined(readCff, gid), `${face} glyph ${gid}`).toEqual(inlined(fontCff, gid));
    }
  });

  it('leaves Subrs out of a font dict none of whose subroutines is called, and still reads', () => {
    const bytes = faceBytes('jp');
    const subset = fontkit.create(bytes).createSubset();
    compactSubroutines(subset);
    // Glyph 0 (.notdef) alone: a box, drawn without subroutines.
    const read = openType(bytes, subset.encode(), 1);
    expect(subroutineCounts(read).local).toEqual([0]);
    expect(read.getGlyph(0).path.toSVG()).toBe(fontkit.create(bytes).getGlyph(0).path.toSVG());
  });

  it('is what a render embeds for Noto Sans JP, and pdfjs reads its glyphs as the font draws them', async () => {
    const subset = (renderFont('jp') as { createSubset(): FontkitCffSubset }).createSubset();
    expect(Object.hasOwn(subset, 'subsetCharstrings')).toBe(true);

    // A second reader of the embedded font program: pdfjs parses it (and rebuilds it as an
    // OpenType font) to show the page; each glyph it kept must be one of the font's own.
    const text = JAPANESE;
    const { pdf } = await renderPdf({
      title: 'CFF',
      content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text }] }] },
      locale: 'en-US',
      timezone: 'America/New_York',
      exportedAt: Date.UTC(2026, 0, 15),
    });
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const document = await pdfjs.getDocument({ data: new Uint8Array(pdf), fontExtraProperties: true, verbosity: 0 }).promise;
    const page = await document.getPage(1);
    await page.getOperatorList();
    const loaded: Array<{ name?: string; data?: Uint8Array }> = [];
    for (const [, value] of page.commonObjs as unknown as Iterable<[string, { name?: string; data?: Uint8Array }]>) loaded.push(value);
    const japanese = loaded.find((font) => font.name?.includes('NotoSansJP'));
    expect(japanese?.data?.length).toBeGreaterThan(0);
    const read = fontkit.create(Buffer.from(japanese!.data!));
    const font = fontkit.create(faceBytes('jp'));
    // The text's glyphs and .notdef, in whatever order pdfjs keeps them.
    const expected = new Set([0, ...font.glyphsForString(text).map((glyph) => glyph.id)].map((id) => font.getGlyph(id).path.toSVG()));
    const drawn = new Set(Array.from({ length: read.numGlyphs }, (_, i) => read.getGlyph(i).path.toSVG()));
    expect(drawn).toEqual(expected);
    await document.destroy();
  });
});

describe('CFF subroutine renumbering on a hand-made font', () => {
  /** A CID-keyed CFF as fontkit decodes it, over `bytes`: glyph charstrings and subroutines by [offset, length]. */
  function handMade(bytes: number[], glyphs: Array<[number, number]>, globals: Array<[number, number]>, locals: Array<[number, number]>) {
    const entry = ([offset, length]: [number, number]) => ({ offset, length });
    const fallback = { subsetCharstrings: vi.fn(), subsetFontdict: vi.fn() };
    const subset: FontkitCffSubset = {
      glyphs: glyphs.map((_, i) => i),
      cff: {
        version: 1,
        isCIDFont: true,
        stream: { buffer: Uint8Array.from(bytes) },
        globalSubrIndex: globals.map(entry),
        topDict: { CharStrings: glyphs.map(entry), FDArray: [{ Private: { Subrs: locals.map(entry), nominalWidthX: 0 } }] },
        fdForGlyph: () => 0,
      },
      charstrings: [],
      gsubrs: [],
      ...fallback,
    };
    return { subset, fallback };
  }

  it("renumbers a call's operand to the callee's place among the kept subroutines", () => {
    // Glyph 0: `10 callsubr` (local 117 with 200 locals: bias 107), `-105 callgsubr` (global 2 of 3), endchar.
    // Local 10+107 = 117 draws `5 5 rmoveto` and returns; global 2 returns.
    const glyph = [139 + 10, 10, 139 - 105, 29, 14];
    const local = [139 + 5, 139 + 5, 21, 11];
    const global = [11];
    const bytes = [...glyph, ...local, ...global];
    const locals: Array<[number, number]> = Array.from({ length: 200 }, () => [glyph.length + local.length, 1]);
    locals[117] = [glyph.length, local.length];
    const { subset, fallback } = handMade(bytes, [[0, glyph.length]], [[0, 0], [0, 0], [glyph.length + local.length, 1]], locals);
    expect(compactSubroutines(subset)).toBe(true);
    subset.subsetCharstrings();
    const topDict: Record<string, unknown> = {};
    subset.subsetFontdict(topDict);
    expect(fallback.subsetCharstrings).not.toHaveBeenCalled();
    // One local and one global kept, each now subroutine 0 of one: operand 0 - 107 = -107 (byte 32).
    expect([...subset.charstrings[0]!]).toEqual([32, 10, 32, 29, 14]);
    expect(subset.gsubrs.map((s) => [...s])).toEqual([global]);
    const fdArray = topDict.FDArray as Array<{ Private: { Subrs: Uint8Array[] } }>;
    expect(fdArray[0]!.Private.Subrs.map((s) => [...s])).toEqual([local]);
    expect(topDict.FDSelect).toEqual({ version: 0, fds: [0] });
  });

  it('skips a hintmask by the stems declared, across a subroutine', () => {
    // Glyph: `1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 hstemhm` (9 stems) then a call to a local subroutine holding
    // `hintmask` with two mask bytes whose values (10 = callsubr, 29 = callgsubr) would read as calls if not skipped.
    const stems = Array.from({ length: 18 }, (_, i) => 139 + i + 1);
    const glyph = [...stems, 18, 139 - 107, 10, 14];
    const local = [19, 10, 29, 11];
    const bytes = [...glyph, ...local];
    const { subset, fallback } = handMade(bytes, [[0, glyph.length]], [], [[glyph.length, local.length]]);
    compactSubroutines(subset);
    subset.subsetCharstrings();
    expect(fallback.subsetCharstrings).not.toHaveBeenCalled();
    expect([...subset.charstrings[0]!]).toEqual(glyph);
  });

  it("falls back to fontkit's subset on an arithmetic operator, and on a call with no literal index before it", () => {
    for (const glyph of [
      [139 + 1, 139 + 2, 12, 10, 14], // 1 2 add endchar
      [139 + 1, 139 + 1, 21, 10, 14], // 1 1 rmoveto callsubr: no index on the stack
    ]) {
      const { subset, fallback } = handMade(glyph, [[0, glyph.length]], [], [[0, 1]]);
      compactSubroutines(subset);
      subset.subsetCharstrings();
      const topDict: Record<string, unknown> = {};
      subset.subsetFontdict(topDict);
      expect(fallback.subsetCharstrings).toHaveBeenCalledOnce();
      expect(fallback.subsetFontdict).toHaveBeenCalledWith(topDict);
    }
  });

  it("falls back to fontkit's subset when a global subroutine calls a local one", () => {
    // Glyph: `-107 callgsubr endchar`; global 0: `-107 callsubr return`; local 0: `return`. The global
    // subroutine's bytes would serve every font dict, whose locals are renumbered apart.
    const glyph = [139 - 107, 29, 14];
    const global = [139 - 107, 10, 11];
    const { subset, fallback } = handMade([...glyph, ...global, 11], [[0, 3]], [[3, 3]], [[6, 1]]);
    compactSubroutines(subset);
    subset.subsetCharstrings();
    expect(fallback.subsetCharstrings).toHaveBeenCalledOnce();
  });

  it("falls back to fontkit's subset when a subroutine calls itself, even once", () => {
    // Glyph: 7 stems, then a call to local 354 (of 400: bias 107). Local 354: `0 1 hstem hintmask ff 247 139 callsubr
    // return` calls itself (247 + 107); run again with 9 stems its mask takes two bytes, and it calls local 107 instead,
    // which returns. The outer run cannot know its calls before the inner one returns.
    const stems = Array.from({ length: 14 }, (_, i) => 139 + i);
    const glyph = [...stems, 1, 247, 139, 10, 14];
    const recursive = [139, 140, 1, 19, 0xff, 247, 139, 10, 11];
    const bytes = [...glyph, ...recursive, 11];
    const locals: Array<[number, number]> = Array.from({ length: 400 }, () => [glyph.length + recursive.length, 1]);
    locals[354] = [glyph.length, recursive.length];
    const { subset, fallback } = handMade(bytes, [[0, glyph.length]], [], locals);
    compactSubroutines(subset);
    subset.subsetCharstrings();
    expect(fallback.subsetCharstrings).toHaveBeenCalledOnce();
  });

  it('biases operands as the Type 2 format does', () => {
    expect([subroutineBias(0), subroutineBias(1239), subroutineBias(1240), subroutineBias(33899), subroutineBias(33900)]).toEqual([107, 107, 1131, 1131, 32768]);
  });
});
