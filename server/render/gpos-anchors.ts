/**
 * A repair of fontkit's GPOS mark positioning, installed once per process (per copy of
 * fontkit) by fonts.ts.
 *
 * In a MarkToBase, MarkToLigature or MarkToMark lookup, OpenType lets a base glyph have no
 * anchor for a mark class (a NULL offset): that mark does not attach to that base. fontkit
 * reads the missing anchor's coordinates and throws a TypeError, and with it the whole
 * render: ordinary Khmer (any consonant before U+17C6, "ភ្នំពេញ"), Thai ฬ with a vowel above,
 * and in DejaVu Sans Mono a precomposed accented letter followed by a combining mark
 * ("ê\u0301", as Vietnamese keyboards type it). As HarfBuzz does, such a mark is left where
 * the font's advances put it, unattached.
 */

interface Anchor {
  xCoordinate: number;
  yCoordinate: number;
}
interface MarkRecord {
  markAnchor: Anchor | null;
}
interface GposProcessor {
  applyAnchor(markRecord: MarkRecord, baseAnchor: Anchor | null, baseGlyphIndex: number): void;
}
/** What of a fontkit font leads to its GPOS processor: the layout engine it builds for each layout. */
interface WithLayoutEngine {
  _layoutEngine?: { engine?: { GPOSProcessor?: GposProcessor | null } };
}

const repaired = new WeakSet<object>();

/**
 * Makes mark attachment skip missing anchors, for every font of the fontkit copy `font` comes
 * from. False if `font` has no mark positioning to reach it through (try another font).
 */
export function tolerateMissingAnchors(font: object): boolean {
  const processor = (font as WithLayoutEngine)._layoutEngine?.engine?.GPOSProcessor;
  if (!processor) return false;
  const prototype = Object.getPrototypeOf(processor) as GposProcessor;
  if (repaired.has(prototype)) return true;
  const applyAnchor = prototype.applyAnchor;
  if (typeof applyAnchor !== 'function') throw new Error('fontkit changed: GPOSProcessor.applyAnchor is gone; see server/render/gpos-anchors.ts');
  prototype.applyAnchor = function (this: GposProcessor, markRecord, baseAnchor, baseGlyphIndex) {
    if (!baseAnchor || !markRecord?.markAnchor) return;
    applyAnchor.call(this, markRecord, baseAnchor, baseGlyphIndex);
  };
  repaired.add(prototype);
  return true;
}
