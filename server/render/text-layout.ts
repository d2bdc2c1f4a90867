/**
 * Inline text layout on top of pdfkit.
 *
 * pdfkit's own wrapper (`text(..., { continued: true })`) can chain runs across font
 * changes, but it cannot measure a paragraph without drawing it, and it advances each line
 * by the metrics of whichever font is current when the line ends (Noto Sans JP's line gap
 * makes that 1.5 em, DejaVu's 1.16 em), so paragraphs mixing scripts get uneven spacing.
 * Tables need a row's height before deciding whether it fits the page, so this module
 * breaks lines itself and draws each already-positioned fragment with `lineBreak: false`
 * on a shared baseline (which also means pdfkit never adds pages behind our back).
 */
import type PDFDocument from 'pdfkit';
import { hasStrongRtl, mirrored, paragraphLevel, resolveLevels, visualPositions, type BidiText } from './bidi.js';
import { isCovered, isRtlFace, needsSyntheticOblique, renderFont, sameCodePoints, segmentByFace, type FaceName, type FontStyle } from './fonts.js';
import { forcedDirection, LTR_RUN, RTL_RUN, RTL_SCRIPT_CHAR, SPACELESS_SCRIPT } from './scripts.js';
import type { CompositePart } from './truetype-subset.js';

type Doc = InstanceType<typeof PDFDocument>;

export interface RunStyle {
  font: FontStyle;
  size: number;
  color: string;
  link?: string | undefined;
  underline?: boolean | undefined;
  /** Box behind the text (inline code). */
  background?: string | undefined;
}

export interface Run {
  text: string;
  style: RunStyle;
}

/** One drawing call: text in logical order, placed at its visual position on the line. */
export interface Fragment {
  text: string;
  face: FaceName;
  style: RunStyle;
  x: number;
  width: number;
  /** Bidi embedding level: odd for text shown right to left. */
  level: number;
  /** Code points in it that no bundled font covers (drawn as boxes). */
  missing: number;
}

export interface Line {
  fragments: Fragment[];
  width: number;
  height: number;
  /** Distance from the line's top to its baseline. */
  baseline: number;
  /** In a right-to-left paragraph: aligned to the right. */
  rtl: boolean;
}

export interface LayoutOptions {
  /** Size used for the height of empty lines. */
  baseSize: number;
  /** Line pitch as a multiple of the largest font size on the line. */
  lineHeight?: number;
}

/**
 * Told what drawLine is about to draw, so a tagged document can mark it (structure.ts
 * implements it): every piece of text and decoration goes through drawLine.
 */
export interface ContentMarks {
  /** Before a fragment's text; `url` when the fragment is a link. */
  text(url: string | undefined): void;
  /** Before backgrounds and underlines. */
  decoration(): void;
  /** Options of the link annotation over a fragment just drawn after text(url). */
  annotation(url: string): PDFKit.Mixins.AnnotationOption;
}

export const LINE_HEIGHT = 1.35;
// DejaVu's ascender is 0.93 em; centring its 1.16 em box in a 1.35 em line puts the baseline here.
const BASELINE = 1.02;

/** Runs tokenized once by TextEngine.tokens; opaque outside this module. */
export interface Tokens {
  readonly tokens: readonly Token[];
  /** The runs' bidi levels; null when all of the text is left to right. */
  readonly bidi: BidiText | null;
}

const isTokens = (value: Run[] | Tokens): value is Tokens => !Array.isArray(value);

// 'spaceless': a dictionary word of a script written without spaces (Thai, Khmer, ...).
type TokenKind = 'word' | 'space' | 'cjk' | 'spaceless' | 'newline';
interface Token {
  text: string;
  kind: TokenKind;
  face: FaceName;
  style: RunStyle;
  width: number;
  /** Offset of the text in the runs' concatenated text (what the bidi levels index). */
  start: number;
  level: number;
  missing: number;
}

const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u3001-\\u303F\\u30FC\\uFF00-\\uFFEF';
const TOKEN = new RegExp(`\\n|[ \\u3000]+|[${CJK_CLASS}]|[^ \\u3000\\n${CJK_CLASS}]+`, 'gu');
const CJK_CHAR = new RegExp(`^[${CJK_CLASS}]$`, 'u');
// Kinsoku: characters that must not start a line, and ones that must not end one.
const NO_BREAK_BEFORE = new Set([...'、。，．・：；？！ー」』）］｝〕〉》〙〗〟’”｠»ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々…‥,.;:!?)]}%']);
const NO_BREAK_AFTER = new Set([...'「『（［｛〔〈《〘〖〝‘“｟«([{']);
// C0/C1 controls other than tab and newline have no glyph and no meaning in a document.
// A soft hyphen is invisible unless a line breaks at it, which we never do; DejaVu would
// draw it as a visible hyphen mid-word.
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD]/g;

export class TextEngine {
  readonly missing = new Set<number>();
  /** Glyphs drawn as .notdef boxes so far: each uncovered character, each time it is drawn. */
  missingDrawn = 0;
  private segmenter: Intl.Segmenter | undefined;
  private readonly widthCache = new Map<FaceName, Map<string, number>>();
  private lastWidthFace: FaceName | undefined;
  private lastWidthCache: Map<string, number> | undefined;
  private readonly registered = new Set<FaceName>();
  private readonly prepared = new Set<FaceName>();
  private currentFace: FaceName | undefined;
  private fill: string | undefined;
  /** Marks what drawLine draws, in a tagged document. */
  marks: ContentMarks | undefined;

  /** `locale` picks the dictionary that breaks lines of Thai, Khmer, Lao and Burmese between words. */
  constructor(
    private readonly doc: Doc,
    private readonly locale?: string,
  ) {}

  /** Switches pdfkit to the face, registering its bytes with this document on first use. */
  useFace(face: FaceName): Doc {
    if (!this.registered.has(face)) {
      // pdfkit takes a ready fontkit font (anything with `layout`), though its types only
      // name bytes and paths.
      this.doc.registerFont(face, renderFont(face) as unknown as string);
      this.registered.add(face);
    }
    if (this.currentFace !== face) {
      this.doc.font(face);
      this.currentFace = face;
      if (!this.prepared.has(face)) {
        fixNotdefWidth(this.doc);
        boundLayoutCache(this.doc);
        this.prepared.add(face);
      }
    }
    return this.doc;
  }

  setFill(color: string): void {
    if (this.fill !== color) {
      this.doc.fillColor(color);
      this.fill = color;
    }
  }

  /** Call after drawing that changed the fill colour behind our back. */
  forgetFill(): void {
    this.fill = undefined;
  }

  /** Advance width at 1 pt, cached per face: pdfkit re-runs shaping on every call. */
  private unitWidth(face: FaceName, text: string): number {
    // Consecutive tokens are nearly always in one face.
    let cache = face === this.lastWidthFace ? this.lastWidthCache : this.widthCache.get(face);
    if (!cache) {
      cache = new Map();
      this.widthCache.set(face, cache);
    }
    this.lastWidthFace = face;
    this.lastWidthCache = cache;
    let width = cache.get(text);
    if (width === undefined) {
      width = this.useFace(face).fontSize(1).widthOfString(text);
      if (cache.size >= LAYOUT_CACHE_LIMIT) cache.clear();
      cache.set(text, width);
    }
    return width;
  }

  width(face: FaceName, text: string, size: number): number {
    return this.unitWidth(face, text) * size;
  }

  /** Width of runs laid out on one line, ignoring wrapping. */
  naturalWidth(runs: Run[]): number {
    let width = 0;
    for (const token of this.tokenize(runs).tokens) width += token.width;
    return width;
  }

  /**
   * The narrowest and widest the runs can be laid out, as a browser's min-/max-content
   * width: `min` is the widest stretch without a break opportunity (what layout() never
   * breaks unless it must), `max` the widest line when nothing wraps.
   */
  extent(runs: Run[] | Tokens): { min: number; max: number } {
    const tokens = isTokens(runs) ? runs.tokens : this.tokenize(runs).tokens;
    let min = 0;
    let max = 0;
    let unit = 0;
    let line = 0;
    // Up to the line's last non-space token: trailing spaces never count (layout drops them).
    let lineContent = 0;
    for (let k = 0; k < tokens.length; k++) {
      const token = tokens[k]!;
      if (token.kind === 'newline') {
        max = Math.max(max, lineContent);
        unit = line = lineContent = 0;
        continue;
      }
      if (k > 0 && breakBetween(tokens[k - 1]!, token)) unit = 0;
      line += token.width;
      if (token.kind !== 'space') {
        unit += token.width;
        lineContent = line;
        min = Math.max(min, unit);
      }
    }
    return { min, max: Math.max(max, lineContent) };
  }

  /**
   * Runs split into measured tokens, for callers that both measure and lay out the same
   * runs (tables), or that give the text a direction instead of its first strong character
   * deciding it (a right-to-left item's marker: "1." then shows as ".1").
   */
  tokens(runs: Run[], direction?: 'rtl'): Tokens {
    return this.tokenize(runs, direction);
  }

  layout(runs: Run[] | Tokens, maxWidth: number, options: LayoutOptions): Line[] {
    const lineHeight = options.lineHeight ?? LINE_HEIGHT;
    const width = Math.max(maxWidth, 1);
    const { tokens, bidi } = isTokens(runs) ? runs : this.tokenize(runs);
    const lines: Line[] = [];
    let current: Token[] = [];
    let x = 0;

    const finish = () => {
      while (current.length > 0 && current[current.length - 1]!.kind === 'space') current.pop();
      lines.push(toLine(current, options.baseSize, lineHeight, bidi));
      current = [];
      x = 0;
    };

    let i = 0;
    while (i < tokens.length) {
      const token = tokens[i]!;
      if (token.kind === 'newline') {
        finish();
        i++;
        continue;
      }
      // A unit is the stretch up to the next break opportunity: its words, then its spaces.
      let end = i + 1;
      while (end < tokens.length && !breakBetween(tokens[end - 1]!, tokens[end]!)) end++;
      let contentWidth = 0;
      let contentEnd = i;
      for (let k = i; k < end; k++) {
        if (tokens[k]!.kind !== 'space') {
          contentEnd = k + 1;
        }
      }
      for (let k = i; k < contentEnd; k++) contentWidth += tokens[k]!.width;

      if (current.length > 0 && x + contentWidth > width) finish();
      if (contentWidth > width) {
        // Longer than a whole line (a URL, a hash): break between characters.
        for (let k = i; k < end; k++) {
          const tok = tokens[k]!;
          if (tok.kind === 'space') {
            current.push(tok);
            x += tok.width;
            continue;
          }
          let piece = '';
          let pieceWidth = 0;
          let pieceStart = tok.start;
          // By grapheme cluster, not code point: a line that starts with a vowel sign, virama or
          // accent torn from its base is drawn by fontkit on a dotted circle (U+25CC).
          for (const { segment: ch } of GRAPHEMES.segment(tok.text)) {
            const w = this.width(tok.face, ch, tok.style.size);
            if (x + pieceWidth + w > width && (current.length > 0 || piece.length > 0)) {
              if (piece) current.push({ ...tok, text: piece, width: pieceWidth, start: pieceStart, missing: this.countMissing(piece, tok) });
              finish();
              pieceStart += piece.length;
              piece = '';
              pieceWidth = 0;
            }
            piece += ch;
            pieceWidth += w;
          }
          if (piece) {
            current.push({ ...tok, text: piece, width: pieceWidth, start: pieceStart, missing: this.countMissing(piece, tok) });
            x += pieceWidth;
          }
        }
      } else {
        for (let k = i; k < end; k++) {
          current.push(tokens[k]!);
          x += tokens[k]!.width;
        }
      }
      i = end;
    }
    if (current.length > 0 || lines.length === 0) finish();
    return lines;
  }

  drawLine(line: Line, left: number, top: number): void {
    const doc = this.doc;
    for (const fragment of line.fragments) {
      if (!fragment.style.background) continue;
      const size = fragment.style.size;
      const [x, width] = this.inkSpan(fragment);
      if (width <= 0) continue;
      this.marks?.decoration();
      doc.rect(left + x - 1, top + line.baseline - size * 0.95, width + 2, size * 1.2).fill(fragment.style.background);
      this.forgetFill();
    }
    // In logical order, each at its visual place: text extraction (pdfjs) reads the
    // content stream in this order, and reverses each right-to-left run back itself.
    for (const fragment of line.fragments) {
      const { style } = fragment;
      this.useFace(fragment.face).fontSize(style.size);
      this.setFill(style.color);
      this.marks?.text(style.link);
      this.missingDrawn += fragment.missing;
      const options: PDFKit.Mixins.TextOptions = {
        lineBreak: false,
        // A number is the baseline's fixed offset from `top` (negated): every face on the
        // line shares it, whatever its own ascender.
        baseline: -line.baseline,
        oblique: needsSyntheticOblique(style.font, fragment.face),
        // pdfkit measures a fragment only for links and underlines of its own, which we
        // never ask of it; given these, it does not lay the text out an extra time for them.
        textWidth: 0,
        wordCount: 0,
      } as PDFKit.Mixins.TextOptions;
      if (fragment.level % 2 === 0) {
        // Arabic-Indic digits are Arabic script, which fontkit would lay out right to left.
        if ((fragment.level > 0 || isRtlFace(fragment.face)) && RTL_SCRIPT_CHAR.test(fragment.text)) options.features = LTR_RUN as PDFKit.Mixins.OpenTypeFeatures[];
        drawText(doc, fragment.text, left + fragment.x, top, options);
      } else if (hasStrongRtl(fragment.text)) {
        // Shaped in logical order (Arabic joining needs it), glyphs then reversed by fontkit.
        drawText(doc, mirrored(fragment.text), left + fragment.x, top, { ...options, features: RTL_RUN as PDFKit.Mixins.OpenTypeFeatures[] });
      } else {
        // Punctuation, spaces or digits only: nothing to shape, so each character is placed
        // from the right, which also keeps each one its own piece of text for extraction.
        // Measured first: measuring sets pdfkit's font size.
        const clusters = (mirrored(fragment.text).match(CLUSTER) ?? []).map((cluster) => ({ cluster, width: this.width(fragment.face, cluster, style.size) }));
        this.useFace(fragment.face).fontSize(style.size);
        let right = fragment.x + fragment.width;
        for (const { cluster, width } of clusters) {
          right -= width;
          drawText(doc, cluster, left + right, top, options);
        }
      }
      if (style.link) {
        // Ours rather than text()'s `link` option: the annotation needs its Contents and
        // its Link element (marks.annotation), which text() cannot be given.
        const [x, width] = this.inkSpan(fragment);
        if (width > 0) doc.link(left + x, top, width, line.height, style.link, this.marks?.annotation(style.link));
      }
    }
    for (const fragment of line.fragments) {
      const { style } = fragment;
      if (!style.underline && !style.link) continue;
      const y = top + line.baseline + style.size * 0.12;
      const [x, width] = this.inkSpan(fragment);
      if (width <= 0) continue;
      this.marks?.decoration();
      doc
        .save()
        .lineWidth(Math.max(style.size * 0.05, 0.4))
        .moveTo(left + x, y)
        .lineTo(left + x + width, y)
        .stroke(style.color)
        .restore();
    }
  }

  /** x and width of a fragment without its outer spaces: underlines and boxes stop at the text. */
  private inkSpan(fragment: Fragment): [number, number] {
    let lead = /^[ \u3000]*/.exec(fragment.text)![0];
    let trail = lead.length === fragment.text.length ? '' : /[ \u3000]*$/.exec(fragment.text)![0];
    // Shown right to left, the text's trailing spaces are on its left.
    if (fragment.level % 2 === 1) [lead, trail] = [trail, lead];
    const leadWidth = lead ? this.width(fragment.face, lead, fragment.style.size) : 0;
    const trailWidth = trail ? this.width(fragment.face, trail, fragment.style.size) : 0;
    return [fragment.x + leadWidth, Math.max(fragment.width - leadWidth - trailWidth, 0)];
  }

  private tokenize(runs: Run[], direction?: 'rtl'): Tokens {
    const texts = runs.map((run) => normalizeText(run.text, run.style.font === 'mono'));
    // Bidi levels are resolved over the whole paragraph, before it is broken into lines.
    const bidi = resolveLevels(texts.join(''), direction);
    const tokens: Token[] = [];
    let runStart = 0;
    for (let r = 0; r < runs.length; r++) {
      // After the bidi levels, which isolates and marks such as U+061C take part in.
      const text = hideUncoveredIgnorables(texts[r]!);
      const style = runs[r]!.style;
      let segmentStart = runStart;
      for (const segment of segmentByFace(text, style.font, this.missing)) {
        const missing = segment.missing > 0 ? (text: string) => this.countMissing(text) : noneMissing;
        if (!BEYOND_SIMPLE_TOKENS.test(segment.text)) {
          this.pushSimple(tokens, segment.text, segment.face, style, segmentStart, bidi, missing);
          segmentStart += segment.text.length;
          continue;
        }
        const spaceless = SPACELESS_SCRIPT.test(segment.text);
        for (const match of segment.text.matchAll(TOKEN)) {
          const piece = match[0];
          const start = segmentStart + match.index;
          const kind: TokenKind =
            piece === '\n' ? 'newline' : piece[0] === ' ' || piece[0] === '\u3000' ? 'space' : CJK_CHAR.test(piece) ? 'cjk' : 'word';
          if (spaceless && kind === 'word' && SPACELESS_SCRIPT.test(piece)) {
            // Thai and its neighbours put no spaces between words: break between dictionary words.
            this.segmenter ??= new Intl.Segmenter(this.locale, { granularity: 'word' });
            for (const word of this.segmenter.segment(piece)) {
              const wordKind = SPACELESS_SCRIPT.test(word.segment) ? 'spaceless' : 'word';
              this.push(tokens, word.segment, wordKind, segment.face, style, start + word.index, bidi, missing);
            }
          } else {
            this.push(tokens, piece, kind, segment.face, style, start, bidi, missing);
          }
        }
        segmentStart += segment.text.length;
      }
      runStart += text.length;
    }
    return { tokens, bidi };
  }

  /**
   * Tokens of text with no CJK and no spaceless script (nothing from U+0E00 on): TOKEN's
   * cuts, found by char codes instead of its Unicode-property classes. Most text is this.
   */
  private pushSimple(tokens: Token[], text: string, face: FaceName, style: RunStyle, start: number, bidi: BidiText | null, missing: (text: string) => number): void {
    let from = 0;
    while (from < text.length) {
      const code = text.charCodeAt(from);
      let to = from + 1;
      let kind: TokenKind;
      if (code === 0x0a) kind = 'newline';
      else if (code === 0x20) {
        while (to < text.length && text.charCodeAt(to) === 0x20) to++;
        kind = 'space';
      } else {
        while (to < text.length) {
          const next = text.charCodeAt(to);
          if (next === 0x20 || next === 0x0a) break;
          to++;
        }
        kind = 'word';
      }
      this.push(tokens, from === 0 && to === text.length ? text : text.slice(from, to), kind, face, style, start + from, bidi, missing);
      from = to;
    }
  }

  /** Adds a token, split where its bidi level changes (a number inside Hebrew text). */
  private push(tokens: Token[], text: string, kind: TokenKind, face: FaceName, style: RunStyle, start: number, bidi: BidiText | null, missing: (text: string) => number): void {
    if (!bidi) {
      tokens.push({ text, kind, face, style, width: kind === 'newline' ? 0 : this.width(face, text, style.size), start, level: 0, missing: missing(text) });
      return;
    }
    const add = (piece: string, offset: number, level: number) => {
      const width = kind === 'newline' ? 0 : this.width(face, piece, style.size);
      tokens.push({ text: piece, kind, face, style, width, start: offset, level, missing: missing(piece) });
    };
    const levels = bidi.levels.levels;
    let from = 0;
    for (let i = 1; i <= text.length; i++) {
      if (i === text.length || levels[start + i] !== levels[start + from]) {
        add(text.slice(from, i), start + from, levels[start + from]!);
        from = i;
      }
    }
  }

  /** Characters of `text` that no bundled font covers. */
  private countMissing(text: string, token?: Token): number {
    if (token && token.missing === 0) return 0;
    let count = 0;
    for (const ch of text) if (this.missing.has(ch.codePointAt(0)!)) count++;
    return count;
  }
}

const noneMissing = (): number => 0;

type FragmentWriter = (text: string, x: number, y: number, options: PDFKit.Mixins.TextOptions) => void;

/**
 * Draws one positioned piece of text. pdfkit's text() with `lineBreak: false` ends in its
 * `_fragment` (which writes the operators) after copying the options, splitting the text at
 * newlines (ours has none) and, afterwards, measuring the text once more to advance its
 * own cursor, which nothing of ours reads. So `_fragment` is called directly; pdfkit
 * internals: if it is ever missing, text() draws the same operators.
 */
function drawText(doc: Doc, text: string, x: number, y: number, options: PDFKit.Mixins.TextOptions): void {
  if (writeFragment(doc, text, x, y, options)) return;
  const fragment = (doc as unknown as { _fragment?: FragmentWriter })._fragment;
  if (typeof fragment === 'function') fragment.call(doc, text, x, y, options);
  else doc.text(text, x, y, options);
}

interface FragmentInternals {
  _font?: { id?: unknown; ref?: () => unknown; encode?: (text: string, features?: unknown) => [string[], GlyphPosition[]] };
  _fontSize?: unknown;
  page?: { height?: unknown; fonts?: Record<string, unknown> };
  _ctm?: unknown;
  addContent?: (data: string) => unknown;
}
interface GlyphPosition {
  xAdvance: number;
  advanceWidth: number;
  xOffset: number;
  yOffset: number;
}

/** pdfkit's PDFObject.number: how every number in its operators is written. */
const pdfNumber = (n: number): number => {
  if (n > -1e21 && n < 1e21) return Math.round(n * 1e6) / 1e6;
  throw new Error(`unsupported number: ${n}`);
};

/**
 * pdfkit's `_fragment` for what we draw (left-aligned, a numeric baseline, no spacing,
 * scaling or pdfkit decorations): its text operators as one content write instead of one
 * per operator, without its save/transform/restore bookkeeping (balanced within the
 * fragment, so the graphics state it tracks ends as it began). A tagged page has many
 * fragments (one per styled run and table cell, each in its marked content).
 * False when pdfkit's internals are not as expected; the caller then lets pdfkit draw it.
 */
function writeFragment(doc: Doc, text: string, x: number, y: number, options: PDFKit.Mixins.TextOptions): boolean {
  const internals = doc as unknown as FragmentInternals;
  const font = internals._font;
  const size = internals._fontSize;
  const page = internals.page;
  if (!font || typeof font.encode !== 'function' || typeof font.ref !== 'function' || typeof font.id !== 'string') return false;
  if (typeof size !== 'number' || !page || typeof page.height !== 'number' || !page.fonts || typeof internals.addContent !== 'function') return false;
  if (typeof options.baseline !== 'number' || typeof options.oblique === 'number' || text.length === 0 || text.includes('\n')) return false;
  const dy = -options.baseline;
  const height = page.height;
  // pdfkit flips the page's coordinates (y down) and, for each fragment, flips them back
  // inside q ... Q for the text. Where the page's own matrix is in force (always, for what
  // we draw), a text matrix with d = -1 does the same flip: the same glyphs in the same
  // places, with fewer operators for every fragment to write and compress.
  const ctm = internals._ctm;
  const flip = !options.oblique && Array.isArray(ctm) && ctm[0] === 1 && ctm[1] === 0 && ctm[2] === 0 && ctm[3] === -1 && ctm[4] === 0 && ctm[5] === height;
  let out = '';
  let d: string;
  if (flip) {
    d = '-1';
    y = y + dy;
  } else {
    d = '1';
    out = 'q\n';
    if (options.oblique) {
      // transform() leaves out an identity matrix, as the first and last are when x and y are 0.
      if (x !== 0 || y !== 0) out += `1 0 0 1 ${pdfNumber(x)} ${pdfNumber(y)} cm\n`;
      out += `1 0 -0.25 1 ${pdfNumber(0.25 * dy)} 0 cm\n`;
      if (x !== 0 || y !== 0) out += `1 0 0 1 ${pdfNumber(-x)} ${pdfNumber(-y)} cm\n`;
    }
    out += `1 0 0 -1 0 ${pdfNumber(height)} cm\n`;
    y = height - y - dy;
  }
  // A glyph's vertical offset is up, which is -y in the flipped text matrix.
  const up = flip ? -1 : 1;
  if (page.fonts[font.id] == null) page.fonts[font.id] = font.ref();
  out += `BT\n1 0 0 ${d} ${pdfNumber(x)} ${pdfNumber(y)} Tm\n/${font.id} ${pdfNumber(size)} Tf`;
  const [encoded, positions] = font.encode(text, options.features);
  const scale = size / 1000;
  let commands = '';
  let last = 0;
  let hadOffset = false;
  const addSegment = (cur: number) => {
    if (last < cur) {
      let hex = '';
      for (let k = last; k < cur; k++) hex += encoded[k]!;
      const advance = positions[cur - 1]!.xAdvance - positions[cur - 1]!.advanceWidth;
      commands += `${commands ? ' ' : ''}<${hex}> ${pdfNumber(-advance)}`;
    }
    last = cur;
  };
  const flush = (i: number) => {
    addSegment(i);
    if (commands) {
      out += `\n[${commands}] TJ`;
      commands = '';
    }
  };
  let i = 0;
  for (; i < positions.length; i++) {
    const pos = positions[i]!;
    if (pos.xOffset || pos.yOffset) {
      flush(i);
      out += `\n1 0 0 ${d} ${pdfNumber(x + pos.xOffset * scale)} ${pdfNumber(y + up * pos.yOffset * scale)} Tm`;
      flush(i + 1);
      hadOffset = true;
    } else {
      if (hadOffset) {
        out += `\n1 0 0 ${d} ${pdfNumber(x)} ${pdfNumber(y)} Tm`;
        hadOffset = false;
      }
      if (pos.xAdvance - pos.advanceWidth !== 0) addSegment(i + 1);
    }
    x += pos.xAdvance * scale;
  }
  flush(i);
  out += flip ? '\nET' : '\nET\nQ';
  internals.addContent.call(doc, out);
  return true;
}

// A character with the combining marks that follow it.
const CLUSTER = /\P{M}\p{M}*|\p{M}+/gu;

/**
 * pdfkit 0.20 seeds an embedded font's /W array with the .notdef advance in font units
 * instead of its 1000-unit glyph space (every other glyph is scaled). DejaVu has 2048
 * units per em, so a viewer advanced 1.2 em over each .notdef where pdfkit positioned
 * 0.6 em, and the rest of the fragment overprinted what follows. Scale it like the rest.
 */
/**
 * Entries kept per face in the width cache and in pdfkit's layout cache before they are
 * dropped. Both are keyed by word; a long document keeps meeting new ones (numbers, dates,
 * names), and unbounded they grew with every page until the render ended.
 * Common words come back within a few pages, so a cache this size still catches them.
 */
const LAYOUT_CACHE_LIMIT = 4096;

/**
 * pdfkit caches the shaped glyph run of every word for the document's lifetime, with no
 * bound. This replaces the font's cache with a Map that starts afresh past
 * LAYOUT_CACHE_LIMIT words; shaping is deterministic, so a word laid out again gives the
 * same glyphs and the same bytes. Runs given a direction (RTL_RUN, LTR_RUN: right-to-left
 * text, Arabic digits) are laid out whole, which pdfkit never caches; they get a bounded
 * cache of their own, keyed by direction and text: without it, shaping them again at
 * every drawing was 40% of a right-to-left document's render. pdfkit internals: if they
 * ever change shape, pdfkit's own cache is left in place.
 */
function boundLayoutCache(doc: Doc): void {
  interface PdfFontInternals {
    layoutCached?: (text: string) => unknown;
    layoutRun?: (text: string, features?: unknown) => unknown;
    layout?: (text: string, features?: unknown, onlyWidth?: boolean) => unknown;
    encode?: (text: string, features?: unknown) => [string[], unknown[]];
    layoutCache?: unknown;
    subset?: { includeGlyph?: (id: number) => number };
    widths?: unknown;
    unicode?: unknown;
    scale?: unknown;
  }
  const font = (doc as unknown as { _font?: PdfFontInternals })._font;
  if (!font || typeof font.layoutCached !== 'function' || typeof font.layoutRun !== 'function' || typeof font.layout !== 'function' || typeof font.layoutCache !== 'object') return;
  if (typeof font.encode !== 'function' || typeof font.subset?.includeGlyph !== 'function' || !Array.isArray(font.widths) || !Array.isArray(font.unicode) || typeof font.scale !== 'number') return;
  const runs = new Map<string, WordRun>();
  font.layoutCache = null;
  const layoutCached = function (this: PdfFontInternals, text: string): WordRun {
    let run = runs.get(text);
    if (run === undefined) {
      const shaped = this.layoutRun!(text) as WordRun;
      // fontkit's advanceWidth is a getter summing every position; it is read on each use.
      run = { glyphs: shaped.glyphs, positions: shaped.positions, advanceWidth: shaped.advanceWidth, text };
      if (runs.size >= LAYOUT_CACHE_LIMIT) runs.clear();
      runs.set(text, run);
    }
    return run;
  };
  font.layoutCached = layoutCached;
  font.layout = function (this: PdfFontInternals, text: string, features?: unknown, onlyWidth?: boolean) {
    if (features) return this.layoutRun!(text, features);
    return layoutPieces(this, layoutCached, text, onlyWidth === true);
  };
  const glyphCodes = createGlyphCoder(font.subset as SubsetInternals, font.widths as (number | undefined)[], font.unicode as (number[] | undefined)[], font.scale);
  // pdfkit's encode(), with each word's glyph codes kept with its cached glyphs: the
  // subset numbers a glyph when it first meets it and never again, so a word's codes stay
  // what they were the first time, and a word is first encoded at the same point as
  // before, so the subset numbers every glyph as it did. Widths and ToUnicode entries are
  // only ever set for a new glyph, which happens at that first encoding too.
  font.encode = function (this: PdfFontInternals, text: string, features?: unknown): [string[], unknown[]] {
    if (features) {
      // A run given a direction (right to left, or Arabic digits) is laid out whole; its words
      // are cached (font.layoutRun below), and so are their codes. A line of several words is
      // joined anew at each drawing, and its codes with it.
      const run = this.layout!(text, features) as WordRun;
      run.codes ??= glyphCodes(run);
      return [run.codes.hex, run.codes.positions];
    }
    const codes: string[] = [];
    const positions: unknown[] = [];
    forEachPiece(text, (piece) => {
      const run = layoutCached.call(this, piece);
      run.codes ??= glyphCodes(run);
      const { hex, positions: drawn } = run.codes;
      for (let i = 0; i < hex.length; i++) {
        codes.push(hex[i]!);
        positions.push(drawn[i]);
      }
    });
    return [codes, positions];
  };
  const directed = new Map<string, unknown>();
  const layoutRun = font.layoutRun;
  font.layoutRun = function (this: PdfFontInternals, text: string, features?: unknown) {
    const direction = forcedDirection(features);
    if (!direction) return layoutRun.call(this, text, features);
    const shaped = (piece: string): WordRun => {
      const key = `${direction}\u0000${piece}`;
      let run = directed.get(key) as WordRun | undefined;
      if (run === undefined) {
        run = layoutRun.call(this, piece, features) as WordRun;
        if (directed.size >= LAYOUT_CACHE_LIMIT) directed.clear();
        directed.set(key, run);
      }
      return run;
    };
    if (direction !== 'rtl') return shaped(text);
    // A right-to-left run is shaped word by word, as its tokens were measured: shaping never
    // joins across a space, and fontkit reverses a run's glyphs after shaping it in logical
    // order, so the run is its words' reversed glyphs, last word first. Whole, every line
    // was shaped anew (lines rarely repeat); words repeat, and hit the cache.
    const pieces: WordRun[] = [];
    forEachPiece(text, (piece) => pieces.push(shaped(piece)));
    if (pieces.length === 1) return pieces[0];
    const glyphs: unknown[] = [];
    const positions: unknown[] = [];
    let advanceWidth = 0;
    for (let p = pieces.length - 1; p >= 0; p--) {
      const run = pieces[p]!;
      for (let i = 0; i < run.glyphs.length; i++) {
        glyphs.push(run.glyphs[i]);
        positions.push(run.positions[i]);
      }
      advanceWidth += run.advanceWidth;
    }
    return { glyphs, positions, advanceWidth };
  };
}

/** A word's shaped glyphs, as pdfkit's layout() reads them (fontkit GlyphRun's fields). */
interface WordRun {
  glyphs: unknown[];
  positions: unknown[];
  advanceWidth: number;
  /** The text it was shaped from, where known (a word; not a right-to-left line joined from its words). */
  text?: string;
  /** What it draws in this document's subset, once encoded (see font.encode and createGlyphCoder). */
  codes?: GlyphCodes;
}

/** The codes a word is drawn with, and a position for each (fewer than its glyphs where a composite stands for several). */
interface GlyphCodes {
  hex: string[];
  positions: unknown[];
}

/** A glyph as fontkit shapes it. */
interface ShapedGlyph {
  id: number;
  advanceWidth: number;
  codePoints: number[];
}

/** A glyph position as pdfkit scales it (1000 units per em) and adds the glyph's advance. */
interface DrawnPosition {
  xAdvance: number;
  yAdvance: number;
  xOffset: number;
  yOffset: number;
  advanceWidth: number;
}

/** The subset of a font as pdfkit embeds it: fontkit's, or truetype-subset.ts's, which can add composites. */
interface SubsetInternals {
  includeGlyph(id: number): number;
  includeGlyphCopy?(id: number): number;
  includeComposite?(parts: readonly CompositePart[], advance: number): number;
  /** fontkit's subsets: the kept glyphs' ids in the font, by id in the subset. */
  glyphs?: number[];
}

/**
 * The codes a shaped word is drawn with, numbering its glyphs in the subset and setting their
 * widths and ToUnicode entries. A PDF's ToUnicode map holds one text per glyph code, for the
 * whole document, where fontkit gives a glyph the text it was shaped from:
 * - one glyph shaped from two texts (Kangxi ⼀ and CJK 一 share Noto Sans JP's glyph; a base
 *   letter is also the first glyph of another letter drawn as base and mark) gets a copy in
 *   the subset per text, so that each reads back as itself, not as whichever came first;
 * - glyphs with no text (the mark of a letter the font draws as a base and a mark:
 *   Devanagari ई as इ plus a mark, Bengali ড়, Arabic إ; or a part whose character the word
 *   does not hold, see textsFrom) are drawn together with the glyph before them (after them,
 *   at the start of a run) as one composite glyph, with that glyph's text: an empty ToUnicode
 *   entry is read back by pdf.js as its glyph code (a stray "A" or "\u0002"). Composites need
 *   the subset of truetype-subset.ts (every TrueType face); under fontkit's (CFF faces) such
 *   glyphs are drawn one by one, as before.
 */
function createGlyphCoder(subset: SubsetInternals, widths: (number | undefined)[], unicode: (number[] | undefined)[], scale: number): (run: WordRun) => GlyphCodes {
  /** Copies and composites made so far, by what they draw and the text they stand for. */
  const extra = new Map<string, number>();
  /**
   * Glyphs in the subset only as parts of composites so far. pdfkit writes a width and a
   * ToUnicode entry for every code below the last, so they get placeholders (their advance,
   * no text) until a word draws one of them on its own and gives it its text.
   */
  const partsOnly = new Set<number>();
  const copyOf = (id: number): number => {
    if (subset.includeGlyphCopy) return subset.includeGlyphCopy(id);
    // fontkit's subsets write each entry of `glyphs`, a repeated one too.
    subset.glyphs!.push(id);
    return subset.glyphs!.length - 1;
  };
  const canCopy = typeof subset.includeGlyphCopy === 'function' || Array.isArray(subset.glyphs);
  const hexOf = (gid: number) => `0000${gid.toString(16)}`.slice(-4);

  /** The code of one glyph standing for `text`. */
  const single = (glyph: ShapedGlyph, text: number[]): number => {
    const gid = subset.includeGlyph(glyph.id);
    if (unicode[gid] == null || partsOnly.delete(gid)) {
      if (widths[gid] == null) widths[gid] = glyph.advanceWidth * scale;
      unicode[gid] = text;
      return gid;
    }
    if (!canCopy || sameCodePoints(unicode[gid]!, text)) return gid;
    const key = `${glyph.id}\u0000${text.join(',')}`;
    let copy = extra.get(key);
    if (copy === undefined) {
      copy = copyOf(glyph.id);
      widths[copy] = glyph.advanceWidth * scale;
      unicode[copy] = text;
      extra.set(key, copy);
    }
    return copy;
  };

  /**
   * The composite drawing glyphs[from..to) where pdfkit would draw each (its pen position plus
   * offset, relative to where the first is drawn, in font units), standing for `text`; or
   * undefined where a composite cannot hold them (offsets or advance past 16 bits).
   */
  const composite = (glyphs: ShapedGlyph[], positions: DrawnPosition[], from: number, to: number, text: number[]): { gid: number; position: DrawnPosition } | undefined => {
    const first = positions[from]!;
    const parts: CompositePart[] = [];
    let pen = 0;
    let yPen = 0;
    for (let k = from; k < to; k++) {
      const at = positions[k]!;
      // pdfkit moves the pen by xAdvance alone (horizontal text): so do the parts.
      parts.push({ glyph: glyphs[k]!.id, dx: Math.round((pen + at.xOffset - first.xOffset) / scale), dy: Math.round((at.yOffset - first.yOffset) / scale) });
      pen += at.xAdvance;
      yPen += at.yAdvance;
    }
    const advance = Math.round(pen / scale);
    if (advance < 0 || advance > 0xffff || parts.some((part) => !isInt16(part.dx) || !isInt16(part.dy))) return undefined;
    const key = `${parts.map((p) => `${p.glyph}@${p.dx},${p.dy}`).join(' ')}+${advance}\u0000${text.join(',')}`;
    let gid = extra.get(key);
    if (gid === undefined) {
      gid = subset.includeComposite!(parts, advance);
      for (let k = from; k < to; k++) {
        const part = subset.includeGlyph(glyphs[k]!.id);
        if (unicode[part] != null) continue;
        widths[part] = glyphs[k]!.advanceWidth * scale;
        unicode[part] = [];
        partsOnly.add(part);
      }
      widths[gid] = advance * scale;
      unicode[gid] = text;
      extra.set(key, gid);
    }
    // The advance as the PDF's widths give it; the pen's own where they agree but for the
    // float rounding of scaling back and forth, so that no zero adjustment is written.
    const width = Math.abs(advance * scale - pen) < 1e-6 ? pen : advance * scale;
    return { gid, position: { xAdvance: pen, yAdvance: yPen, xOffset: first.xOffset, yOffset: first.yOffset, advanceWidth: width } };
  };

  return (run) => {
    const glyphs = run.glyphs as ShapedGlyph[];
    const positions = run.positions as DrawnPosition[];
    const hex: string[] = [];
    const drawn: unknown[] = [];
    const texts = run.text === undefined ? glyphs.map((glyph) => textOfGlyph(glyph.codePoints)) : textsFrom(run.text, glyphs);
    const textless = (k: number) => texts[k]!.length === 0;
    for (let i = 0; i < glyphs.length; ) {
      // A glyph with text and the text-less glyphs beside it: those after it, and those before
      // it at the start of the run (a right-to-left run is in visual order, a mark before its base).
      let end = i;
      if (subset.includeComposite) {
        while (end < glyphs.length && textless(end)) end++;
        if (end < glyphs.length) end++;
        while (end < glyphs.length && textless(end)) end++;
      }
      const withText = end - i > 1 ? texts.slice(i, end).find((text) => text.length > 0) : undefined;
      const merged = withText && composite(glyphs, positions, i, end, withText);
      if (merged) {
        hex.push(hexOf(merged.gid));
        drawn.push(merged.position);
        i = end;
        continue;
      }
      const glyph = glyphs[i]!;
      hex.push(hexOf(single(glyph, texts[i]!)));
      drawn.push(positions[i]);
      i++;
    }
    return { hex, positions: drawn };
  };
}

const isInt16 = (value: number) => value >= -0x8000 && value <= 0x7fff;

/**
 * Each glyph's text, given the text the word was shaped from: its code points, less any the
 * text does not hold. Shapers split a vowel into parts, each given a character of its own
 * (fontkit's Indic and Universal shapers): for most scripts those are the vowel's canonical
 * decomposition, which the text holds in its NFD form, but Khmer ោ is drawn as េ before its
 * consonant and a part after it, and the first part's character is not in the text (a word
 * with ោ read back with an extra េ). Such a part gets no text, and is drawn in one composite
 * with the glyph beside it. Code points are taken in glyph order, each as often as the text
 * holds it (in its own form or NFD, whichever has more). fontkit also draws an invisible
 * character with the space glyph and gives it the space's character: inside a word, that
 * glyph joins its neighbour's composite and reads back as nothing.
 */
function textsFrom(text: string, glyphs: readonly ShapedGlyph[]): number[][] {
  const available = new Map<number, number>();
  const counts = (form: string) => {
    const seen = new Map<number, number>();
    for (const ch of form) seen.set(ch.codePointAt(0)!, (seen.get(ch.codePointAt(0)!) ?? 0) + 1);
    for (const [cp, n] of seen) available.set(cp, Math.max(n, available.get(cp) ?? 0));
  };
  counts(text);
  const decomposed = text.normalize('NFD');
  if (decomposed !== text) counts(decomposed);
  const texts = glyphs.map((glyph) => {
    const kept: number[] = [];
    for (const cp of glyph.codePoints) {
      const left = available.get(cp) ?? 0;
      if (left === 0) continue;
      available.set(cp, left - 1);
      kept.push(cp);
    }
    return textOfGlyph(kept.length === glyph.codePoints.length ? glyph.codePoints : kept);
  });
  // A word of nothing but such glyphs (invisible characters, which fontkit draws with the
  // space glyph and its character) has no glyph to join them to: they keep fontkit's text.
  return texts.some((kept) => kept.length > 0) ? texts : glyphs.map((glyph) => textOfGlyph(glyph.codePoints));
}

/**
 * pdfkit's layout() without features, cut where the tokenizer cuts (TOKEN: runs of spaces,
 * single CJK characters, the words between) instead of after each space as pdfkit cuts
 * ("word " with its space). A token is measured through this same cache (unitWidth), so
 * drawing a fragment finds every piece already shaped, and shows exactly the widths the
 * line was laid out with; cut pdfkit's way, every word was shaped twice, once with its
 * space and once without. Glyphs are gathered with push, not pdfkit's concat per word.
 */
function layoutPieces<F>(font: F, cached: (this: F, text: string) => WordRun, text: string, onlyWidth: boolean): WordRun {
  const glyphs: unknown[] = [];
  const positions: unknown[] = [];
  let advanceWidth = 0;
  forEachPiece(text, (piece) => {
    const run = cached.call(font, piece);
    advanceWidth += run.advanceWidth;
    if (onlyWidth) return;
    for (let i = 0; i < run.glyphs.length; i++) {
      glyphs.push(run.glyphs[i]);
      positions.push(run.positions[i]);
    }
  });
  return onlyWidth ? { glyphs: null as unknown as unknown[], positions: null as unknown as unknown[], advanceWidth } : { glyphs, positions, advanceWidth };
}

/** Calls `add` with each piece of `text` as the tokenizer cuts it (TOKEN), in order. */
function forEachPiece(text: string, add: (piece: string) => void): void {
  if (NEEDS_TOKEN_SPLIT.test(text)) {
    for (const match of text.matchAll(TOKEN)) add(match[0]);
    return;
  }
  // Below U+1100 nothing is CJK or an ideographic space: only spaces separate tokens.
  let from = 0;
  for (let i = 1; i <= text.length; i++) {
    if (i === text.length || (text.charCodeAt(i) === 0x20) !== (text.charCodeAt(from) === 0x20)) {
      add(i === text.length && from === 0 ? text : text.slice(from, i));
      from = i;
    }
  }
}
const NEEDS_TOKEN_SPLIT = /[^\u0000-\u10FF]/;
// Thai (U+0E00) is the first spaceless script and CJK_CLASS starts later still: below it,
// TOKEN cuts only at newlines and spaces (pushSimple).
const BEYOND_SIMPLE_TOKENS = /[^\u0000-\u0DFF]/;

function fixNotdefWidth(doc: Doc): void {
  const font = (doc as unknown as { _font?: { widths?: unknown; scale?: unknown; font?: { getGlyph?: (id: number) => { advanceWidth: number } } } })._font;
  if (!font || !Array.isArray(font.widths) || typeof font.scale !== 'number' || typeof font.font?.getGlyph !== 'function') return;
  const unscaled = font.font.getGlyph(0).advanceWidth;
  if (font.widths[0] === unscaled) font.widths[0] = unscaled * font.scale;
}

const VARIATION_SELECTOR = (cp: unknown): boolean => typeof cp === 'number' && ((cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef));

/**
 * The text a glyph stands for in the PDF's ToUnicode map, which holds one text per glyph for
 * the whole document: fontkit gives a glyph the code points of the first text it was shaped
 * from, and a variation selector after a character that has no variant glyph rides along
 * ("1\uFE0F" of a keycap), which would make every later "1" of the document, the footer's
 * page numbers included, read back as "1\uFE0F". Selectors choose a presentation, not a
 * character: they are left out of the text, unless the glyph stands for nothing else.
 */
function textOfGlyph(codePoints: number[]): number[] {
  if (!codePoints.some(VARIATION_SELECTOR)) return codePoints;
  const characters = codePoints.filter((cp) => !VARIATION_SELECTOR(cp));
  return characters.length > 0 ? characters : codePoints;
}

/** User-perceived characters, where a word longer than a line may be broken. */
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const HAS_IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
/** Drawn in place of an invisible character no face has: invisible too, and every primary face has it. */
const WORD_JOINER = '\u2060';

/**
 * Default-ignorable characters (bidi isolates and U+061C, which Intl writes into Arabic
 * numbers, Mongolian and ideographic variation selectors, ...) are never seen: one that no
 * bundled face has would be drawn as a .notdef box and counted missing (and so cost the
 * PDF/A claim). Each becomes word joiners of the same length, so offsets into the text (its
 * bidi levels) stay as they were.
 */
function hideUncoveredIgnorables(text: string): string {
  if (!HAS_IGNORABLE.test(text)) return text;
  return text.replace(IGNORABLE, (ch) => (isCovered(ch.codePointAt(0)!) ? ch : WORD_JOINER.repeat(ch.length)));
}

function normalizeText(text: string, mono: boolean): string {
  let out = text.replace(/\r\n?/g, '\n');
  out = mono ? expandTabs(out) : out.replace(/\t/g, ' ');
  return out.replace(INVISIBLE, '');
}

/** Tabs to spaces at 4-column stops, so indentation in code keeps its shape. */
export function expandTabs(text: string): string {
  if (!text.includes('\t')) return text;
  let out = '';
  let column = 0;
  for (const ch of text) {
    if (ch === '\t') {
      const n = 4 - (column % 4);
      out += ' '.repeat(n);
      column += n;
    } else {
      out += ch;
      column = ch === '\n' ? 0 : column + 1;
    }
  }
  return out;
}

function breakBetween(a: Token, b: Token): boolean {
  if (b.kind === 'space' || b.kind === 'newline' || a.kind === 'newline') return b.kind === 'newline';
  if (a.kind === 'space') return true;
  if (a.kind === 'cjk' || b.kind === 'cjk' || a.kind === 'spaceless' || b.kind === 'spaceless') {
    const first = String.fromCodePoint(b.text.codePointAt(0)!);
    const last = lastChar(a.text);
    return !NO_BREAK_BEFORE.has(first) && !NO_BREAK_AFTER.has(last);
  }
  return false;
}

function lastChar(text: string): string {
  const code = text.charCodeAt(text.length - 1);
  return code >= 0xdc00 && code <= 0xdfff ? text.slice(-2) : text.slice(-1);
}

function toLine(tokens: Token[], baseSize: number, lineHeight: number, bidi: BidiText | null): Line {
  let size = 0;
  for (const token of tokens) size = Math.max(size, token.style.size);
  if (size === 0) size = baseSize;
  const height = size * lineHeight;
  const baseline = size * (BASELINE + (lineHeight - LINE_HEIGHT) / 2);
  if (!bidi || tokens.length === 0) {
    const fragments: Fragment[] = [];
    let x = 0;
    for (const token of tokens) {
      const last = fragments[fragments.length - 1];
      if (last && last.face === token.face && last.style === token.style) {
        last.text += token.text;
        last.width += token.width;
        last.missing += token.missing;
      } else {
        fragments.push({ text: token.text, face: token.face, style: token.style, x, width: token.width, level: 0, missing: token.missing });
      }
      x += token.width;
    }
    return { fragments, width: x, height, baseline, rtl: false };
  }
  // Tokens keep their logical order; each gets the x of its place in the visual order (a
  // token never mixes levels, so it stays in one piece, reversed if right to left).
  const first = tokens[0]!;
  const last = tokens[tokens.length - 1]!;
  const lineStart = first.start;
  const positions = visualPositions(bidi, lineStart, last.start + last.text.length - 1);
  const visual = tokens.map((token, i) => ({ i, at: positions[token.start - lineStart]! })).sort((a, b) => a.at - b.at);
  const xs = new Array<number>(tokens.length);
  let x = 0;
  for (const { i } of visual) {
    xs[i] = x;
    x += tokens[i]!.width;
  }
  const fragments: Fragment[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const previous = fragments[fragments.length - 1];
    if (previous && previous.face === token.face && previous.style === token.style && previous.level === token.level) {
      previous.text += token.text;
      previous.width += token.width;
      previous.missing += token.missing;
      previous.x = Math.min(previous.x, xs[i]!);
    } else {
      fragments.push({ text: token.text, face: token.face, style: token.style, x: xs[i]!, width: token.width, level: token.level, missing: token.missing });
    }
  }
  return { fragments, width: x, height, baseline, rtl: paragraphLevel(bidi, lineStart) % 2 === 1 };
}
