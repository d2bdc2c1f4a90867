/**
 * Bundled fonts and the per-code-point fallback chain.
 *
 * Font bytes are read, and their tables decoded, once per process (or worker thread) and
 * shared by every render. Each render still gets its own fontkit instance (`renderFont`):
 * fontkit caches Glyph objects together with the code points first seen for them, and
 * pdfkit writes those into the ToUnicode map, so a whole font object shared across
 * renders would make a document's bytes depend on what the worker rendered before. The
 * decoded tables (cmap, GSUB, GPOS, CFF, hmtx, ...) are read-only data about the file, so
 * instances share them, as fontkit's own variation instances do. Decoding them was most
 * of a small render's time.
 *
 * Coverage lookups only read the cmap, so they use one process-wide instance.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type FaceName = 'sans' | 'sansBold' | 'sansOblique' | 'sansBoldOblique' | 'mono' | 'jp' | 'jpBold' | 'sc' | 'kr';
export type FontStyle = 'regular' | 'bold' | 'italic' | 'boldItalic' | 'mono';

export const FACE_NAMES: readonly FaceName[] = ['sans', 'sansBold', 'sansOblique', 'sansBoldOblique', 'mono', 'jp', 'jpBold', 'sc', 'kr'];

const require = createRequire(import.meta.url);

function facePath(face: FaceName): string {
  // @embedpdf/fonts-jp's "exports" hides package.json, so locate it through its main entry.
  const dejavu = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const jp = () => join(dirname(require.resolve('@embedpdf/fonts-jp')), '..', 'fonts');
  const google = (name: string) => dirname(require.resolve(`@expo-google-fonts/${name}`));
  switch (face) {
    case 'sans':
      return join(dejavu, 'DejaVuSans.ttf');
    case 'sansBold':
      return join(dejavu, 'DejaVuSans-Bold.ttf');
    case 'sansOblique':
      return join(dejavu, 'DejaVuSans-Oblique.ttf');
    case 'sansBoldOblique':
      return join(dejavu, 'DejaVuSans-BoldOblique.ttf');
    case 'mono':
      return join(dejavu, 'DejaVuSansMono.ttf');
    case 'jp':
      return join(jp(), 'NotoSansJP-Regular.otf');
    case 'jpBold':
      return join(jp(), 'NotoSansJP-Bold.otf');
    // Noto Sans JP lacks many simplified-Chinese ideographs (们, 这, 说 …) and all of Hangul.
    case 'sc':
      return join(google('noto-sans-sc'), '400Regular', 'NotoSansSC_400Regular.ttf');
    case 'kr':
      return join(google('noto-sans-kr'), '400Regular', 'NotoSansKR_400Regular.ttf');
  }
}

/** The slice of fontkit's Font we use; fontkit ships no types. */
interface FontkitFont {
  hasGlyphForCodePoint(codePoint: number): boolean;
  /** Decoded tables by tag, filled lazily on first access to each. */
  _tables: Record<string, unknown>;
}
interface Fontkit {
  create(data: Uint8Array): FontkitFont;
}

let fontkitModule: Fontkit | undefined;
function fontkit(): Fontkit {
  // fontkit is pdfkit's dependency, not ours: resolve it from pdfkit so that we get the
  // copy pdfkit was installed with, wherever npm placed it.
  fontkitModule ??= createRequire(require.resolve('pdfkit'))('fontkit') as Fontkit;
  return fontkitModule;
}

interface LoadedFace {
  bytes: Uint8Array;
  /** The first instance parsed; its table cache is the one every later instance shares. */
  coverage: FontkitFont;
}
const loaded = new Map<FaceName, LoadedFace>();

function load(face: FaceName): LoadedFace {
  let entry = loaded.get(face);
  if (!entry) {
    const bytes = readFileSync(facePath(face));
    entry = { bytes, coverage: fontkit().create(bytes) };
    loaded.set(face, entry);
  }
  return entry;
}

/** The font file's bytes, read lazily once per process: CJK faces cost 4.5 to 10 MB each. */
export function faceBytes(face: FaceName): Uint8Array {
  return load(face).bytes;
}

/**
 * A font for one render: its own instance (glyph cache, layout state) over the shared
 * bytes and decoded tables. pdfkit's `registerFont` accepts a fontkit font as is.
 */
export function renderFont(face: FaceName): object {
  const { bytes, coverage } = load(face);
  const font = fontkit().create(bytes);
  font._tables = coverage._tables;
  return font;
}

/** Forgets every loaded face and its decoded tables, so the next render starts cold (for tests). */
export function forgetLoadedFaces(): void {
  loaded.clear();
}

function covers(face: FaceName, codePoint: number): boolean {
  return load(face).coverage.hasGlyphForCodePoint(codePoint);
}

/** Primary face first; later entries are fallbacks tried in order for uncovered code points. */
export const FALLBACK_CHAINS: Readonly<Record<FontStyle, readonly FaceName[]>> = {
  regular: ['sans', 'jp', 'sc', 'kr'],
  bold: ['sansBold', 'sans', 'jpBold', 'jp', 'sc', 'kr'],
  italic: ['sansOblique', 'sans', 'jp', 'sc', 'kr'],
  boldItalic: ['sansBoldOblique', 'sansBold', 'sans', 'jpBold', 'jp', 'sc', 'kr'],
  mono: ['mono', 'sans', 'jp', 'sc', 'kr'],
};

/** True for faces with no italic design, where italic text gets pdfkit's synthetic slant. */
export function needsSyntheticOblique(style: FontStyle, face: FaceName): boolean {
  return (style === 'italic' || style === 'boldItalic') && face !== 'sansOblique' && face !== 'sansBoldOblique' && face !== 'mono';
}

// Hostile content could hold every code point; past this the lookup is simply not memoised.
const MEMO_LIMIT = 1 << 16;
const chainMemo = new Map<FontStyle, Map<number, number>>();

/** Index into the style's chain of the first face covering the code point, or -1. */
function chainIndex(style: FontStyle, codePoint: number): number {
  // Every primary face covers printable ASCII (checked when the fonts were chosen).
  if (codePoint >= 0x20 && codePoint < 0x7f) return 0;
  let memo = chainMemo.get(style);
  if (!memo) {
    memo = new Map();
    chainMemo.set(style, memo);
  }
  const hit = memo.get(codePoint);
  if (hit !== undefined) return hit;
  const chain = FALLBACK_CHAINS[style];
  let index = -1;
  for (let i = 0; i < chain.length; i++) {
    if (covers(chain[i]!, codePoint)) {
      index = i;
      break;
    }
  }
  if (memo.size < MEMO_LIMIT) memo.set(codePoint, index);
  return index;
}

export interface FaceSegment {
  text: string;
  face: FaceName;
}

// Characters that should stay in the surrounding face when it has them, so that a space
// or a combining accent does not bounce between fonts mid-word.
const STICKY = /^[\s\p{M}\p{Default_Ignorable_Code_Point}]$/u;

/**
 * Splits text into runs by the first face of the style's chain that covers each code
 * point. Code points no face covers are added to `missing` and stay in the primary face
 * (pdfkit renders them as .notdef) rather than vanishing. `\n` is never looked up: the
 * layout consumes it as a line break.
 */
export function segmentByFace(text: string, style: FontStyle, missing: Set<number>): FaceSegment[] {
  const chain = FALLBACK_CHAINS[style];
  const segments: FaceSegment[] = [];
  let current: FaceName | undefined;
  let start = 0;
  let offset = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    let face: FaceName;
    if (cp === 0x0a || (cp === 0x20 && current !== undefined)) {
      face = current ?? chain[0]!;
    } else if (cp < 0x7f) {
      face = chain[0]!;
    } else if (current !== undefined && STICKY.test(ch) && covers(current, cp)) {
      face = current;
    } else {
      const index = chainIndex(style, cp);
      if (index === -1) missing.add(cp);
      face = chain[Math.max(index, 0)]!;
    }
    if (face !== current) {
      if (current !== undefined && offset > start) segments.push({ text: text.slice(start, offset), face: current });
      current = face;
      start = offset;
    }
    offset += ch.length;
  }
  if (current !== undefined && offset > start) segments.push({ text: text.slice(start, offset), face: current });
  return segments;
}
