import { inflateSync } from 'node:zlib';

/**
 * A TrueType font subset for pdfkit, written straight from the font file's bytes.
 *
 * pdfkit embeds each font through fontkit's subset, which decodes every used glyph and then
 * re-encodes the kept tables value by value through restructure: the hinting programs
 * (`fpgm`, `prep`) one byte at a time, `cvt ` one value at a time. That was a fifth of a
 * small document's render. This subset copies the same bytes instead, and its output is
 * byte for byte what fontkit's would be (test/truetype-subset.test.ts compares the two over
 * every bundled TrueType face), so PDFs do not change:
 *
 * - the table directory tagged `true`, the tables in fontkit's order (head, hhea, loca, maxp,
 *   cvt , prep, glyf, hmtx, fpgm; absent ones left out), laid end to end, checksums 0;
 * - head, hhea and maxp as fontkit re-encodes them: their fixed fields only, hhea's reserved
 *   words zeroed, head's macStyle keeping the seven bits fontkit names, maxp's and hhea's
 *   counts set to the subset's;
 * - glyf: each kept glyph's bytes as in the font, a composite's component ids renumbered
 *   (components join the subset in the order met); loca in the font's own format;
 * - hmtx: an advance and a left side bearing for every kept glyph.
 *
 * Only for static TrueType fonts, in sfnt or WOFF files (`sfntTables` answers undefined
 * otherwise): collections, WOFF2, CFF and variable fonts keep fontkit's subset.
 *
 * It can also hold glyphs the font has not, for the PDF's text layer (text-layout.ts): a
 * copy of a glyph (`includeGlyphCopy`), so that one shape can stand for two texts, and a
 * composite of several glyphs at given offsets (`includeComposite`), so that a character the
 * font draws as a base and a mark reads back as that one character. A subset without them is
 * still byte for byte fontkit's.
 */

/** The parts of a TrueType file a subset copies from, decoded once per face. */
export interface TrueTypeTables {
  head: Uint8Array;
  hhea: Uint8Array;
  maxp: Uint8Array;
  cvt: Uint8Array | undefined;
  prep: Uint8Array | undefined;
  fpgm: Uint8Array | undefined;
  glyf: Uint8Array;
  /** Byte offsets into glyf of each glyph, and one past the last. */
  loca: Uint32Array;
  /** head.indexToLocFormat: 0 for offsets/2 in 16 bits, 1 for offsets in 32. */
  locaFormat: number;
  advances: Uint16Array;
  bearings: Int16Array;
}

const HEAD_SIZE = 54;
const HHEA_SIZE = 36;
const MAXP_SIZE = 32;

/** The seven macStyle bits fontkit's head bitfield names (bold … extended). */
const MAC_STYLE_BITS = 0x7f;

// Composite glyph component flags (OpenType glyf table).
const ARG_1_AND_2_ARE_WORDS = 0x0001;
const ARGS_ARE_XY_VALUES = 0x0002;
const WE_HAVE_A_SCALE = 0x0008;
const MORE_COMPONENTS = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE = 0x0040;
const WE_HAVE_A_TWO_BY_TWO = 0x0080;

/**
 * The tables of a static TrueType font, from an sfnt file or a WOFF one (its tables
 * inflated, as fontkit reads them), or undefined when this subset does not apply (CFF
 * outlines, a collection, WOFF2, variations, or tables too short to be sound).
 */
export function sfntTables(bytes: Uint8Array): TrueTypeTables | undefined {
  const tables = tableDirectory(bytes);
  if (!tables) return undefined;
  const head = tables.get('head');
  const hhea = tables.get('hhea');
  const maxp = tables.get('maxp');
  const locaBytes = tables.get('loca');
  const glyf = tables.get('glyf');
  const hmtx = tables.get('hmtx');
  if (!head || !hhea || !maxp || !locaBytes || !glyf || !hmtx) return undefined;
  if (tables.has('fvar') || tables.has('CFF ') || tables.has('CFF2')) return undefined;
  if (head.length < HEAD_SIZE || hhea.length < HHEA_SIZE || maxp.length < MAXP_SIZE) return undefined;

  const numGlyphs = readUint16(maxp, 4);
  const locaFormat = readInt16(head, 50);
  const loca = new Uint32Array(numGlyphs + 1);
  const entrySize = locaFormat === 0 ? 2 : 4;
  if (locaBytes.length < (numGlyphs + 1) * entrySize) return undefined;
  for (let i = 0; i <= numGlyphs; i++) loca[i] = locaFormat === 0 ? readUint16(locaBytes, i * 2) * 2 : readUint32(locaBytes, i * 4);
  for (let i = 0; i < numGlyphs; i++) if (loca[i]! > loca[i + 1]! || loca[i + 1]! > glyf.length) return undefined;

  // hmtx: numberOfHMetrics (advance, bearing) pairs, then bearings alone; a glyph past the
  // pairs takes the last advance. A bearing missing from a truncated table is taken as 0.
  const metricCount = readUint16(hhea, 34);
  if (metricCount === 0 || hmtx.length < metricCount * 4) return undefined;
  const advances = new Uint16Array(numGlyphs);
  const bearings = new Int16Array(numGlyphs);
  const trailing = Math.floor((hmtx.length - metricCount * 4) / 2);
  for (let gid = 0; gid < numGlyphs; gid++) {
    if (gid < metricCount) {
      advances[gid] = readUint16(hmtx, gid * 4);
      bearings[gid] = readInt16(hmtx, gid * 4 + 2);
    } else {
      advances[gid] = readUint16(hmtx, (metricCount - 1) * 4);
      const index = gid - metricCount;
      bearings[gid] = index < trailing ? readInt16(hmtx, metricCount * 4 + index * 2) : 0;
    }
  }
  const cvt = tables.get('cvt ');
  return {
    head,
    hhea,
    maxp,
    // fontkit reads cvt as whole 16-bit values: an odd last byte is dropped.
    cvt: cvt?.subarray(0, cvt.length - (cvt.length % 2)),
    prep: tables.get('prep'),
    fpgm: tables.get('fpgm'),
    glyf,
    loca,
    locaFormat,
    advances,
    bearings,
  };
}

const TRUETYPE = 0x00010000;
const TRUE_TAG = 0x74727565; // 'true'
const WOFF_TAG = 0x774f4646; // 'wOFF'

/** Each table's bytes by tag: views into an sfnt file, inflated copies out of a WOFF one. */
function tableDirectory(bytes: Uint8Array): Map<string, Uint8Array> | undefined {
  // A plain Uint8Array over the bytes: a Buffer's slice() is a view, and the tables are
  // sliced to be patched; writing through a view would corrupt the shared font file.
  const file = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (file.length < 12) return undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const signature = view.getUint32(0);
  const woff = signature === WOFF_TAG;
  // 'OTTO' (CFF), 'ttcf' and 'wOF2' are left to fontkit, and so is a WOFF of a CFF font.
  if (woff ? file.length < 44 || (view.getUint32(4) !== TRUETYPE && view.getUint32(4) !== TRUE_TAG) : signature !== TRUETYPE && signature !== TRUE_TAG) return undefined;
  const numTables = view.getUint16(woff ? 12 : 4);
  const first = woff ? 44 : 12;
  const entrySize = woff ? 20 : 16;
  if (first + numTables * entrySize > file.length) return undefined;
  const tables = new Map<string, Uint8Array>();
  for (let i = 0; i < numTables; i++) {
    const entry = first + i * entrySize;
    const tag = String.fromCharCode(file[entry]!, file[entry + 1]!, file[entry + 2]!, file[entry + 3]!);
    const offset = view.getUint32(entry + 4 + (woff ? 0 : 4));
    const length = view.getUint32(entry + (woff ? 8 : 12));
    if (offset + length > file.length) return undefined;
    const stored = file.subarray(offset, offset + length);
    if (!woff) {
      tables.set(tag, stored);
      continue;
    }
    // WOFF: a table is zlib-deflated when its stored length is below its original length.
    const original = view.getUint32(entry + 12);
    if (length === original) tables.set(tag, stored);
    else {
      let inflated: Buffer;
      try {
        inflated = inflateSync(stored);
      } catch {
        return undefined;
      }
      if (inflated.length !== original) return undefined;
      tables.set(tag, new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength));
    }
  }
  return tables;
}

/** One glyph of a composite: a glyph of the font, its origin at (dx, dy) font units from the composite's. */
export interface CompositePart {
  glyph: number;
  dx: number;
  dy: number;
}

/** A composite the subset writes: its parts' ids in the subset, and its advance in font units. */
interface Composite {
  parts: Array<CompositePart & { id: number }>;
  advance: number;
}

/** The largest offset a short loca (format 0: offsets / 2 in 16 bits) holds. */
const SHORT_LOCA_LIMIT = 0x1fffe;

/** The subset pdfkit asks a font for (`createSubset`): glyphs in, a font file out. */
export class TrueTypeSubset {
  /** Kept glyphs by new id: their ids in the font, or for a composite -1 - its index in `composites`. */
  private readonly glyphs: number[] = [];
  private readonly mapping = new Map<number, number>();
  private readonly composites: Composite[] = [];

  constructor(private readonly tables: TrueTypeTables) {
    // The missing glyph is always glyph 0.
    this.includeGlyph(0);
  }

  /** The glyph's id in the subset, adding it if new. */
  includeGlyph(glyph: number | { id: number }): number {
    const gid = typeof glyph === 'object' ? glyph.id : glyph;
    let mapped = this.mapping.get(gid);
    if (mapped === undefined) {
      mapped = this.glyphs.length;
      this.glyphs.push(gid);
      this.mapping.set(gid, mapped);
    }
    return mapped;
  }

  /** A new id for a copy of the glyph: the same shape, for a text of its own in the PDF's ToUnicode map. */
  includeGlyphCopy(glyph: number): number {
    this.glyphs.push(glyph);
    return this.glyphs.length - 1;
  }

  /**
   * A new glyph drawing `parts` (glyphs of the font, each at its offset in font units) with
   * the given advance: a composite glyph, as fonts build accented letters from a base and an
   * accent. The parts join the subset too.
   */
  includeComposite(parts: readonly CompositePart[], advance: number): number {
    const composite: Composite = { parts: parts.map((part) => ({ ...part, id: this.includeGlyph(part.glyph) })), advance };
    this.composites.push(composite);
    this.glyphs.push(-1 - (this.composites.length - 1));
    return this.glyphs.length - 1;
  }

  encode(): Uint8Array {
    const { tables } = this;
    const numGlyphsInFont = tables.advances.length;
    // Glyph data: components found while copying join the end of the list, as in fontkit.
    const pieces: Uint8Array[] = [];
    const offsets: number[] = [];
    let glyfLength = 0;
    for (let i = 0; i < this.glyphs.length; i++) {
      const gid = this.glyphs[i]!;
      let piece: Uint8Array;
      if (gid < 0) piece = this.compositeGlyph(this.composites[-1 - gid]!);
      else {
        piece = gid < numGlyphsInFont ? tables.glyf.subarray(tables.loca[gid], tables.loca[gid + 1]) : tables.glyf.subarray(0, 0);
        if (piece.length >= 10 && readInt16(piece, 0) < 0) piece = this.renumberComponents(piece);
      }
      offsets.push(glyfLength);
      pieces.push(piece);
      glyfLength += piece.length;
    }
    offsets.push(glyfLength);
    const count = this.glyphs.length;
    // The font's own loca format fits a subset that holds each glyph once (its glyf is never
    // longer than the font's); copies and composites can make it longer.
    const locaFormat = tables.locaFormat === 0 && glyfLength > SHORT_LOCA_LIMIT ? 1 : tables.locaFormat;

    const head = copyOf(tables.head, HEAD_SIZE);
    head[44] = 0;
    head[45] = tables.head[45]! & MAC_STYLE_BITS;
    writeInt16(head, 50, locaFormat);
    const hhea = copyOf(tables.hhea, HHEA_SIZE);
    hhea.fill(0, 24, 32);
    writeUint16(hhea, 34, count);
    const maxp = copyOf(tables.maxp, MAXP_SIZE);
    writeUint16(maxp, 4, count);
    if (this.composites.length > 0) this.raiseLimits(hhea, maxp);
    const loca = new Uint8Array((count + 1) * (locaFormat === 0 ? 2 : 4));
    for (let i = 0; i <= count; i++) {
      if (locaFormat === 0) writeUint16(loca, i * 2, offsets[i]! >>> 1);
      else writeUint32(loca, i * 4, offsets[i]!);
    }
    const hmtx = new Uint8Array(count * 4);
    for (let i = 0; i < count; i++) {
      const gid = this.glyphs[i]!;
      if (gid < 0) {
        const piece = pieces[i]!;
        writeUint16(hmtx, i * 4, this.composites[-1 - gid]!.advance);
        // A composite's left side bearing is its xMin, as for any glyph with an outline.
        writeInt16(hmtx, i * 4 + 2, piece.length >= 10 ? readInt16(piece, 2) : 0);
        continue;
      }
      // A glyph id past the font (pdfkit never asks for one) takes the last advance, as in fontkit.
      writeUint16(hmtx, i * 4, tables.advances[Math.min(gid, numGlyphsInFont - 1)] ?? 0);
      writeInt16(hmtx, i * 4 + 2, gid < numGlyphsInFont ? tables.bearings[gid]! : 0);
    }

    const out: Array<[string, Uint8Array | Uint8Array[], number]> = [];
    const add = (tag: string, data: Uint8Array | Uint8Array[] | undefined, length?: number) => {
      if (data) out.push([tag, data, length ?? (data as Uint8Array).length]);
    };
    add('head', head);
    add('hhea', hhea);
    add('loca', loca);
    add('maxp', maxp);
    add('cvt ', tables.cvt);
    add('prep', tables.prep);
    add('glyf', pieces, glyfLength);
    add('hmtx', hmtx);
    add('fpgm', tables.fpgm);

    const directoryLength = 12 + out.length * 16;
    const total = out.reduce((sum, [, , length]) => sum + length, directoryLength);
    const file = new Uint8Array(total);
    file.set([0x74, 0x72, 0x75, 0x65]); // 'true', as fontkit tags its subsets
    const maxPowerOf2 = 2 ** Math.floor(Math.log2(out.length));
    writeUint16(file, 4, out.length);
    writeUint16(file, 6, maxPowerOf2 * 16);
    writeUint16(file, 8, Math.log2(maxPowerOf2));
    writeUint16(file, 10, out.length * 16 - maxPowerOf2 * 16);
    let offset = directoryLength;
    out.forEach(([tag, data, length], i) => {
      const entry = 12 + i * 16;
      for (let c = 0; c < 4; c++) file[entry + c] = tag.charCodeAt(c);
      // Checksum (entry + 4) left 0, as fontkit leaves it.
      writeUint32(file, entry + 8, offset);
      writeUint32(file, entry + 12, length);
      if (Array.isArray(data)) {
        for (const piece of data) {
          file.set(piece, offset);
          offset += piece.length;
        }
      } else {
        file.set(data, offset);
        offset += length;
      }
    });
    return file;
  }

  /** The glyf entry of a composite: its bounding box (the parts' boxes, moved), then a component per part. */
  private compositeGlyph(composite: Composite): Uint8Array {
    const out = new Uint8Array(10 + composite.parts.length * 8);
    writeInt16(out, 0, -1);
    let box: [number, number, number, number] | undefined;
    composite.parts.forEach((part, k) => {
      const outline = this.outlineOf(part.glyph);
      if (outline) {
        const moved: [number, number, number, number] = [readInt16(outline, 2) + part.dx, readInt16(outline, 4) + part.dy, readInt16(outline, 6) + part.dx, readInt16(outline, 8) + part.dy];
        box = box ? [Math.min(box[0], moved[0]), Math.min(box[1], moved[1]), Math.max(box[2], moved[2]), Math.max(box[3], moved[3])] : moved;
      }
      const at = 10 + k * 8;
      const more = k < composite.parts.length - 1 ? MORE_COMPONENTS : 0;
      writeUint16(out, at, ARG_1_AND_2_ARE_WORDS | ARGS_ARE_XY_VALUES | more);
      writeUint16(out, at + 2, part.id);
      writeInt16(out, at + 4, part.dx);
      writeInt16(out, at + 6, part.dy);
    });
    if (box) box.forEach((value, k) => writeInt16(out, 2 + k * 2, value));
    return out;
  }

  /** The glyph's glyf entry in the font, if it has an outline (a header and a box). */
  private outlineOf(glyph: number): Uint8Array | undefined {
    const { tables } = this;
    if (glyph >= tables.advances.length) return undefined;
    const piece = tables.glyf.subarray(tables.loca[glyph], tables.loca[glyph + 1]);
    return piece.length >= 10 ? piece : undefined;
  }

  /**
   * hhea's widest advance and maxp's composite limits, raised for the composites this subset
   * adds (a rasterizer may size its buffers by them, or refuse a deeper composite): bounds,
   * not exact figures, which the tables allow since they are maxima.
   */
  private raiseLimits(hhea: Uint8Array, maxp: Uint8Array): void {
    const { tables } = this;
    const fontMax = (at: number) => readUint16(tables.maxp, at);
    let widest = readUint16(hhea, 10);
    let points = fontMax(10);
    let contours = fontMax(12);
    let elements = fontMax(28);
    let depth = Math.max(1, fontMax(30));
    for (const composite of this.composites) {
      widest = Math.max(widest, composite.advance);
      elements = Math.max(elements, composite.parts.length);
      let compositePoints = 0;
      let compositeContours = 0;
      for (const part of composite.parts) {
        const outline = this.outlineOf(part.glyph);
        const partContours = outline ? readInt16(outline, 0) : 0;
        if (partContours < 0) {
          // A composite inside: one level deeper, and at most the font's largest composite.
          depth = Math.max(depth, fontMax(30) + 1);
          compositePoints += fontMax(10);
          compositeContours += fontMax(12);
        } else if (partContours > 0 && outline!.length >= 10 + partContours * 2) {
          compositePoints += readUint16(outline!, 10 + (partContours - 1) * 2) + 1;
          compositeContours += partContours;
        }
      }
      points = Math.max(points, compositePoints);
      contours = Math.max(contours, compositeContours);
    }
    writeUint16(hhea, 10, widest);
    writeUint16(maxp, 10, Math.min(0xffff, points));
    writeUint16(maxp, 12, Math.min(0xffff, contours));
    writeUint16(maxp, 28, Math.min(0xffff, elements));
    writeUint16(maxp, 30, Math.min(0xffff, depth));
  }

  /** A copy of a composite glyph with each component's glyph id replaced by its id in the subset. */
  private renumberComponents(glyph: Uint8Array): Uint8Array {
    const copy = new Uint8Array(glyph);
    let pos = 10;
    let flags = MORE_COMPONENTS;
    while (flags & MORE_COMPONENTS) {
      if (pos + 4 > copy.length) break;
      flags = readUint16(copy, pos);
      writeUint16(copy, pos + 2, this.includeGlyph(readUint16(copy, pos + 2)));
      pos += 4 + (flags & ARG_1_AND_2_ARE_WORDS ? 4 : 2);
      if (flags & WE_HAVE_A_SCALE) pos += 2;
      else if (flags & WE_HAVE_AN_X_AND_Y_SCALE) pos += 4;
      else if (flags & WE_HAVE_A_TWO_BY_TWO) pos += 8;
    }
    return copy;
  }
}

/** A copy (never a view) of the first `length` bytes. */
function copyOf(bytes: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(bytes.subarray(0, length));
}
function readUint16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}
function readInt16(bytes: Uint8Array, at: number): number {
  const value = readUint16(bytes, at);
  return value & 0x8000 ? value - 0x10000 : value;
}
function readUint32(bytes: Uint8Array, at: number): number {
  return readUint16(bytes, at) * 0x10000 + readUint16(bytes, at + 2);
}
function writeUint16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = (value >>> 8) & 0xff;
  bytes[at + 1] = value & 0xff;
}
function writeInt16(bytes: Uint8Array, at: number, value: number): void {
  writeUint16(bytes, at, value & 0xffff);
}
function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  writeUint16(bytes, at, Math.floor(value / 0x10000));
  writeUint16(bytes, at + 2, value % 0x10000);
}
