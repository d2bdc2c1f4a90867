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

import { featureOverrides, forcedDirection, SCRIPT_FACES, type ScriptFaceName } from './scripts.js';
import { compactSubroutines, type FontkitCffSubset } from './cff-subset.js';
import { tolerateMissingAnchors } from './gpos-anchors.js';
import { sfntTables, TrueTypeSubset, type TrueTypeTables } from './truetype-subset.js';

export type FaceName = 'sans' | 'sansBold' | 'sansOblique' | 'sansBoldOblique' | 'mono' | 'jp' | 'jpBold' | 'sc' | 'kr' | ScriptFaceName;
export type FontStyle = 'regular' | 'bold' | 'italic' | 'boldItalic' | 'mono';

export const FACE_NAMES: readonly FaceName[] = [
  'sans', 'sansBold', 'sansOblique', 'sansBoldOblique', 'mono', 'jp', 'jpBold', 'sc', 'kr',
  ...new Set(SCRIPT_FACES.flatMap((s) => [...s.regular, ...s.bold])),
];

const require = createRequire(import.meta.url);

function facePath(face: FaceName): string {
  // @embedpdf/fonts-jp's "exports" hides package.json, so locate it through its main entry.
  const dejavu = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  const jp = () => join(dirname(require.resolve('@embedpdf/fonts-jp')), '..', 'fonts');
  const google = (name: string) => dirname(require.resolve(`@expo-google-fonts/${name}`));
  const googleFace = (name: string, family: string, weight: '400Regular' | '700Bold') => join(google(name), weight, `${family}_${weight}.ttf`);
  // The other @embedpdf font packages hide package.json too; their fonts sit beside dist/.
  const embedpdf = (name: string) => join(dirname(require.resolve(`@embedpdf/${name}`)), '..', 'fonts');
  // Fontsource ships one file per Unicode subset; the script's own subset holds its digits and shaping tables.
  const fontsource = (name: string, subset: string) => join(dirname(require.resolve(`@fontsource/${name}/package.json`)), 'files', `${name}-${subset}-400-normal.woff`);
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
    // Noto Naskh Arabic in this build has a glyph of its own for each letter's joining form.
    // Current Noto Sans Arabic draws dotted letters as a shared dotless body plus dots, and a
    // PDF maps each glyph to one text, so the text layer read every body as the first
    // letter seen with it (ي as ت).
    case 'arabic':
      return join(embedpdf('fonts-arabic'), 'NotoNaskhArabic-Regular.ttf');
    case 'arabicBold':
      return join(embedpdf('fonts-arabic'), 'NotoNaskhArabic-Bold.ttf');
    case 'hebrew':
      return join(embedpdf('fonts-hebrew'), 'NotoSansHebrew-Regular.ttf');
    case 'hebrewBold':
      return join(embedpdf('fonts-hebrew'), 'NotoSansHebrew-Bold.ttf');
    case 'devanagari':
      return googleFace('noto-sans-devanagari', 'NotoSansDevanagari', '400Regular');
    case 'devanagariBold':
      return googleFace('noto-sans-devanagari', 'NotoSansDevanagari', '700Bold');
    case 'thai':
      return googleFace('noto-sans-thai', 'NotoSansThai', '400Regular');
    case 'thaiBold':
      return googleFace('noto-sans-thai', 'NotoSansThai', '700Bold');
    case 'khmer':
      return googleFace('noto-sans-khmer', 'NotoSansKhmer', '400Regular');
    case 'bengali':
      return fontsource('noto-sans-bengali', 'bengali');
    case 'myanmar':
      return fontsource('noto-sans-myanmar', 'myanmar');
    case 'emoji':
      return googleFace('noto-emoji', 'NotoEmoji', '400Regular');
  }
}

/** The slice of fontkit's Font we use; fontkit ships no types. */
interface FontkitFont {
  hasGlyphForCodePoint(codePoint: number): boolean;
  layout(text: string, features?: unknown, script?: string, language?: string, direction?: string): unknown;
  /** Decoded tables by tag, filled lazily on first access to each. */
  _tables: Record<string, unknown>;
  getGlyph(id: number, characters?: number[]): FontkitGlyph | null;
  /** What pdfkit embeds the font through: glyph ids in (`includeGlyph`), a font file out (`encode`). */
  createSubset(): { includeGlyph(glyph: number): number; encode(): Uint8Array };
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
  /** The tables a TrueType subset copies (truetype-subset.ts), read at the first render; null where fontkit's subset stays. */
  trueType?: TrueTypeTables | null;
}
const loaded = new Map<FaceName, LoadedFace>();
/** Whether this process's fontkit has had its mark positioning repaired (gpos-anchors.ts). */
let anchorsRepaired = false;

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
  const entry = load(face);
  const font = fontkit().create(entry.bytes);
  font._tables = entry.coverage._tables;
  // Once per process, through the first face that has mark positioning (the default face does).
  if (!anchorsRepaired) anchorsRepaired = tolerateMissingAnchors(font);
  // pdfkit embeds the font through this subset; for plain TrueType files it copies bytes
  // where fontkit's re-encodes them value by value, with the same output (truetype-subset.ts).
  if (entry.trueType === undefined) entry.trueType = sfntTables(entry.bytes) ?? null;
  const tables = entry.trueType;
  if (tables) font.createSubset = () => new TrueTypeSubset(tables);
  else {
    // CFF faces keep fontkit's subset, holding only the subroutines their glyphs call (cff-subset.ts).
    const fontkitSubset = font.createSubset.bind(font);
    font.createSubset = () => {
      const subset = fontkitSubset();
      if ('cff' in subset) compactSubroutines(subset as unknown as FontkitCffSubset);
      return subset;
    };
  }
  // pdfkit hands a run's `features` to fontkit untouched but never a direction, and fontkit
  // takes the direction from the run's script: Arabic-Indic digits (Arabic script, but laid
  // out left to right) came out reversed, and neutrals inside right-to-left text were not
  // reversed. The bidi layout (text-layout.ts) says the direction with a marker in place of
  // the features; see scripts.ts.
  textPerGlyph(font);
  const layout = font.layout.bind(font);
  const overrides = featureOverrides(face);
  font.layout = (text, features, script, language, direction) => {
    const forced = forcedDirection(features);
    if (forced) return layout(text, overrides ?? [], undefined, undefined, forced);
    return layout(text, features ?? overrides, script, language, direction);
  };
  return font;
}

/** A fontkit glyph: shared by every use of its id in a font instance. */
interface FontkitGlyph {
  id: number;
  codePoints: number[];
  advanceWidth: number;
}

/**
 * Gives each shaped glyph the text it was shaped from. fontkit keeps one Glyph object per id
 * and font instance, created with the code points of the first text that used it, and its
 * layouts hand out that object: after "ई" (drawn as the glyph of इ plus a mark) every later
 * इ of the document came out of layout() as ई, and Kangxi ⼀ and CJK 一 (one glyph) as
 * whichever came first. Worse, the shapers classify characters by those code points: once
 * the vowel sign े had been met as the mark of ऐ (no code point of its own), करें drew its
 * anusvara on a dotted circle. Shaping passes each glyph's own code points to getGlyph; where
 * they differ from the shared glyph's, they go onto a view of it (its metrics and outline
 * still the shared object's), which is what the shapers and the PDF's text layer
 * (text-layout.ts) read. Views are rare, so property reads on glyphs stay monomorphic.
 */
function textPerGlyph(font: FontkitFont): void {
  const getGlyph = font.getGlyph.bind(font);
  font.getGlyph = (id: number, ...characters: [number[]?]) => {
    const glyph = getGlyph(id, ...characters);
    // Nearly always the glyph's own text: the shared object, as fontkit gives it.
    if (!glyph || characters.length === 0 || sameCodePoints(glyph.codePoints, characters[0] ?? [])) return glyph;
    // Metrics are computed lazily and cached on the object they are read from: read them on
    // the shared glyph first, so that views inherit them instead of each computing its own.
    void glyph.advanceWidth;
    return Object.create(glyph, { codePoints: { value: characters[0] ?? [], enumerable: true } }) as FontkitGlyph;
  };
}

/** Whether two glyphs' texts are the same code points (here and in text-layout.ts's glyph coder). */
export function sameCodePoints(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Forgets every loaded face and its decoded tables, so the next render starts cold (for tests). */
export function forgetLoadedFaces(): void {
  loaded.clear();
}

function covers(face: FaceName, codePoint: number): boolean {
  return load(face).coverage.hasGlyphForCodePoint(codePoint);
}

/**
 * Primary face first; later entries are fallbacks tried in order for uncovered code points.
 * The script faces (scripts.ts) come last here, but a code point of their own script tries
 * them first (see faceFor): DejaVu has Arabic and Hebrew letters of its own, without the
 * Noto designs' shaping and hinting, and must only be their last resort.
 */
export const FALLBACK_CHAINS: Readonly<Record<FontStyle, readonly FaceName[]>> = (() => {
  const scripts = [...new Set(SCRIPT_FACES.flatMap((s) => s.regular))];
  return {
    regular: ['sans', 'jp', 'sc', 'kr', ...scripts],
    bold: ['sansBold', 'sans', 'jpBold', 'jp', 'sc', 'kr', ...scripts],
    italic: ['sansOblique', 'sans', 'jp', 'sc', 'kr', ...scripts],
    boldItalic: ['sansBoldOblique', 'sansBold', 'sans', 'jpBold', 'jp', 'sc', 'kr', ...scripts],
    mono: ['mono', 'sans', 'jp', 'sc', 'kr', ...scripts],
  };
})();

/** True for faces with no italic design, where italic text gets pdfkit's synthetic slant. */
export function needsSyntheticOblique(style: FontStyle, face: FaceName): boolean {
  return (style === 'italic' || style === 'boldItalic') && face !== 'sansOblique' && face !== 'sansBoldOblique' && face !== 'mono';
}

// Hostile content could hold every code point; past this the lookup is simply not memoised.
const MEMO_LIMIT = 1 << 16;
const faceMemo = new Map<FontStyle, Map<number, FaceName | null>>();

/**
 * The face a code point is drawn in for a style: its script's faces first when it has any
 * (bold ones for bold styles), then the style's chain. Null when no bundled face covers it.
 */
export function faceFor(style: FontStyle, codePoint: number): FaceName | null {
  // Every primary face covers printable ASCII (checked when the fonts were chosen).
  if (codePoint >= 0x20 && codePoint < 0x7f) return FALLBACK_CHAINS[style][0]!;
  let memo = faceMemo.get(style);
  if (!memo) {
    memo = new Map();
    faceMemo.set(style, memo);
  }
  const hit = memo.get(codePoint);
  if (hit !== undefined) return hit;
  let face: FaceName | null = null;
  const ch = String.fromCodePoint(codePoint);
  const script = SCRIPT_FACES.find((s) => s.test.test(ch));
  const preferred = script ? (style === 'bold' || style === 'boldItalic' ? script.bold : script.regular) : [];
  for (const candidate of [...preferred, ...FALLBACK_CHAINS[style]]) {
    if (covers(candidate, codePoint)) {
      face = candidate;
      break;
    }
  }
  if (memo.size < MEMO_LIMIT) memo.set(codePoint, face);
  return face;
}

/** True when some bundled face draws the code point (in the regular style's faces). */
export function isCovered(codePoint: number): boolean {
  return faceFor('regular', codePoint) !== null;
}

export interface FaceSegment {
  text: string;
  face: FaceName;
  /** How many of its code points no face covers (drawn as .notdef boxes). */
  missing: number;
}

// Characters that should stay in the surrounding face when it has them, so that a space
// or a combining accent does not bounce between fonts mid-word.
const STICKY = /^[\s\p{M}\p{Default_Ignorable_Code_Point}]$/u;

/**
 * Splits text into runs by the face each code point is drawn in (faceFor). Code points no
 * face covers are added to `missing` and stay in the primary face (pdfkit renders them as
 * .notdef) rather than vanishing. `\n` is never looked up: the layout consumes it as a
 * line break.
 */
export function segmentByFace(text: string, style: FontStyle, missing: Set<number>): FaceSegment[] {
  const chain = FALLBACK_CHAINS[style];
  // Below U+007F every character is drawn in the style's first face (the loop below agrees;
  // that face is never a right-to-left one), so most text needs no walk character by character.
  if (ASCII_ONLY.test(text)) return text.length > 0 ? [{ text, face: chain[0]!, missing: 0 }] : [];
  const segments: FaceSegment[] = [];
  let current: FaceName | undefined;
  let currentRtl = false;
  let start = 0;
  let offset = 0;
  let segmentUncovered = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    let face: FaceName;
    let isMissing = false;
    if (cp === 0x0a || (cp === 0x20 && current !== undefined)) {
      face = current ?? chain[0]!;
    } else if (cp < 0x7f) {
      // Punctuation inside right-to-left text stays in its face: drawn as one run with the
      // words around it, it is reversed and read back together with them.
      face = currentRtl && ASCII_NEUTRAL.test(ch) && covers(current!, cp) ? current! : chain[0]!;
    } else if (current !== undefined && STICKY.test(ch) && covers(current, cp)) {
      face = current;
    } else {
      const found = faceFor(style, cp);
      if (found === null) {
        missing.add(cp);
        isMissing = true;
      }
      face = found ?? chain[0]!;
    }
    if (face !== current) {
      if (current !== undefined && offset > start) segments.push({ text: text.slice(start, offset), face: current, missing: segmentUncovered });
      current = face;
      currentRtl = RTL_FACES.has(face);
      start = offset;
      segmentUncovered = 0;
    }
    if (isMissing) {
      segmentUncovered++;
    }
    offset += ch.length;
  }
  if (current !== undefined && offset > start) segments.push({ text: text.slice(start, offset), face: current, missing: segmentUncovered });
  return segments;
}

/** True for the faces of right-to-left scripts (Arabic, Hebrew). */
export const isRtlFace = (face: FaceName): boolean => RTL_FACES.has(face);

const RTL_FACES: ReadonlySet<FaceName> = new Set(SCRIPT_FACES.filter((s) => s.rtl).flatMap((s) => [...s.regular, ...s.bold]));
// ASCII characters of no direction of their own: punctuation and symbols, not letters or digits.
const ASCII_NEUTRAL = /^[!-/:-@[-`{-~]$/;
const ASCII_ONLY = /^[\u0000-\u007e]*$/;
