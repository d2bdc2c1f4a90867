/**
 * What the layout needs to know about writing systems beyond Latin, Greek, Cyrillic and
 * CJK: which bundled faces a script prefers (fonts.ts builds the fallback chain from this),
 * which scripts are written without spaces between words (their lines break at dictionary
 * word boundaries), and the markers that tell fontkit a run's direction.
 */

export type ScriptFaceName =
  | 'arabic'
  | 'arabicBold'
  | 'hebrew'
  | 'hebrewBold'
  | 'devanagari'
  | 'devanagariBold'
  | 'thai'
  | 'thaiBold'
  | 'khmer'
  | 'bengali'
  | 'myanmar'
  | 'emoji';

export interface ScriptFaces {
  /** Matches one character of the script. */
  test: RegExp;
  regular: readonly ScriptFaceName[];
  /** Bold text tries these first; the regular face stays the fallback. */
  bold: readonly ScriptFaceName[];
  /** Written right to left. */
  rtl: boolean;
  /** OpenType features switched off whenever the script's faces lay out text. */
  featuresOff?: readonly string[];
}

/**
 * A code point of one of these scripts tries the script's faces before any other, in this
 * order. Bold weights only for scripts that headings are commonly written in and whose
 * families ship one; the others draw bold text in their regular weight, as Chinese and
 * Korean do.
 */
export const SCRIPT_FACES: readonly ScriptFaces[] = [
  { test: /^\p{Script=Arabic}$/u, regular: ['arabic'], bold: ['arabicBold', 'arabic'], rtl: true },
  { test: /^\p{Script=Hebrew}$/u, regular: ['hebrew'], bold: ['hebrewBold', 'hebrew'], rtl: true },
  { test: /^\p{Script=Devanagari}$/u, regular: ['devanagari'], bold: ['devanagariBold', 'devanagari'], rtl: false },
  // Noto Sans Thai's ccmp splits SARA AM (ำ) into NIKHAHIT and SARA AA glyphs; a PDF maps
  // each glyph to one text, so the text layer read "คำ" as "คำา". Its own ำ glyph is kept.
  { test: /^\p{Script=Thai}$/u, regular: ['thai'], bold: ['thaiBold', 'thai'], rtl: false, featuresOff: ['ccmp'] },
  { test: /^\p{Script=Khmer}$/u, regular: ['khmer'], bold: ['khmer'], rtl: false },
  { test: /^\p{Script=Bengali}$/u, regular: ['bengali'], bold: ['bengali'], rtl: false },
  { test: /^\p{Script=Myanmar}$/u, regular: ['myanmar'], bold: ['myanmar'], rtl: false },
  // Characters shown as emoji by default; text-style symbols (☺, ♥, ✓) keep DejaVu's glyphs.
  { test: /^\p{Emoji_Presentation}$/u, regular: ['emoji'], bold: ['emoji'], rtl: false },
];

/** Scripts written without spaces between words: lines break between dictionary words. */
export const SPACELESS_SCRIPT = /[\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** Letters of right-to-left scripts (bidi classes R and AL), and Arabic-script digits. */
export const RTL_SCRIPT_CHAR = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]/u;

/**
 * Markers passed as pdfkit's `features` for a run that must be laid out in a given
 * direction; the fontkit instances of fonts.ts recognise them (forcedDirection). Any other
 * value keeps fontkit's own choice. pdfkit lays a run with `features` out whole rather
 * than word by word, which right-to-left runs need: word by word, their words came out in
 * logical order.
 */
export const RTL_RUN: readonly string[] = Object.freeze([]);
export const LTR_RUN: readonly string[] = Object.freeze([]);

/** Feature overrides for a face: off for the features its script switches off. */
export function featureOverrides(face: ScriptFaceName | string): Readonly<Record<string, boolean>> | undefined {
  const script = SCRIPT_FACES.find((s) => (s.regular as readonly string[]).includes(face) || (s.bold as readonly string[]).includes(face));
  if (!script?.featuresOff) return undefined;
  return Object.fromEntries(script.featuresOff.map((tag) => [tag, false]));
}

export function forcedDirection(features: unknown): 'rtl' | 'ltr' | undefined {
  return features === RTL_RUN ? 'rtl' : features === LTR_RUN ? 'ltr' : undefined;
}
