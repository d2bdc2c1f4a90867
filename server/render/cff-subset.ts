/**
 * Subroutines for fontkit's CFF subset that keep only the subroutines the subset's glyphs
 * call, renumbered.
 *
 * fontkit's subset keeps every subroutine of the font and replaces each unused one with a
 * bare `return`, so that the glyphs' calls need no rewriting. For Noto Sans JP that is an
 * INDEX of thousands of entries per font dict, built and encoded entry by entry through
 * restructure in every render that prints a CJK character (most of such a render's font
 * embedding), and tens of kilobytes of those one-byte entries in every such PDF. This
 * module walks the subset's Type 2 charstrings as an interpreter would (counting stem hints,
 * so that hintmask bytes are skipped exactly), lists the subroutines they reach, and writes
 * the charstrings and those subroutines with each call's operand renumbered. fontkit still
 * writes the font around them (dicts, charset, FDSelect).
 *
 * A font that is not a CID-keyed CFF (version 1) makes `compactSubroutines` answer false and
 * keeps fontkit's subset. For the others, anything the walk does not understand when the
 * subset is encoded (an arithmetic operator, a call whose index is not a literal just before
 * it, a subroutine read two ways or calling itself, a global subroutine calling a local one)
 * hands that subset back to fontkit's own methods, unchanged.
 */

/** Where a charstring or subroutine lies in the font's CFF table (fontkit's INDEX entries). */
interface IndexEntry {
  offset: number;
  length: number;
}
interface FontDict {
  /** Subrs: where the font's lie when read; the subset's bytes when written. */
  Private?: { Subrs?: IndexEntry[] | Uint8Array[] | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}
/** The parts of fontkit's CFFFont and CFFSubset this module reads and sets. */
export interface FontkitCffSubset {
  glyphs: number[];
  cff: {
    version: number;
    isCIDFont: boolean;
    stream: { buffer: Uint8Array };
    globalSubrIndex: IndexEntry[] | null;
    topDict: { CharStrings: IndexEntry[]; FDArray?: FontDict[] };
    fdForGlyph(gid: number): number | null;
  };
  charstrings: Uint8Array[];
  gsubrs: Uint8Array[];
  subsetCharstrings(): void;
  subsetFontdict(topDict: Record<string, unknown>): void;
}

/** Type 2 charstring operators (Adobe TN 5177). */
const OP = {
  hstem: 1, vstem: 3, vmoveto: 4, callsubr: 10, return: 11, escape: 12, endchar: 14, hstemhm: 18, hintmask: 19, cntrmask: 20,
  rmoveto: 21, hmoveto: 22, vstemhm: 23, shortint: 28, callgsubr: 29,
} as const;
/** Escaped operators that only draw (flex family) or do nothing (dotsection): each clears the stack. */
const DRAWING_ESCAPES = new Set([0, 34, 35, 36, 37]);
/** One-byte operators that draw or hint and clear the stack; any other (reserved, CFF2's blend) is not understood. */
const CLEARING_OPS = new Set([1, 3, 4, 5, 6, 7, 8, 14, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31]);
/** Calls nest at most ten deep (TN 5177). */
const MAX_CALL_DEPTH = 10;

/** The bias added to a call's operand to index a subroutine INDEX of `count` entries. */
export function subroutineBias(count: number): number {
  return count < 1240 ? 107 : count < 33900 ? 1131 : 32768;
}

/** A call found in a charstring: where its operand lies, and the subroutine it names. */
interface Call {
  start: number;
  end: number;
  global: boolean;
  index: number;
}

class NotUnderstood extends Error {}

/** Subroutines kept from one INDEX: old index to new, in the order first called. */
class KeptSubroutines {
  readonly order: number[] = [];
  readonly renumbered = new Map<number, number>();
  /** Each kept subroutine's calls, found the first time it ran. */
  readonly calls = new Map<number, Call[]>();
  constructor(readonly entries: IndexEntry[]) {}

  keep(index: number): void {
    if (!this.renumbered.has(index)) {
      this.renumbered.set(index, this.order.length);
      this.order.push(index);
    }
  }
}

/** Interpreter state that decides how the bytes read: operands on the stack, stems declared, the width seen. */
interface GlyphState {
  depth: number;
  stems: number;
  haveWidth: boolean;
  ended: boolean;
}

class Walker {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly globals: KeptSubroutines,
  ) {}

  /**
   * Runs one charstring (a glyph's, or a subroutine's from a call), keeping what it calls;
   * answers its calls. `inGlobal`: inside a global subroutine, whose local calls would name
   * the local subroutines of whichever font dict's glyph called it.
   */
  run(entry: IndexEntry, locals: KeptSubroutines | undefined, state: GlyphState, level: number, inGlobal = false): Call[] {
    if (level > MAX_CALL_DEPTH) throw new NotUnderstood('calls nested too deep');
    const { bytes } = this;
    const calls: Call[] = [];
    let pos = entry.offset;
    const end = entry.offset + entry.length;
    /** The last token if it was an integer: its value and where it lies. */
    let literal: { value: number; start: number } | undefined;
    while (pos < end && !state.ended) {
      const start = pos;
      const b0 = bytes[pos++]!;
      if (b0 >= 32 || b0 === OP.shortint) {
        let value: number | undefined;
        if (b0 === OP.shortint) {
          value = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16)) >> 16;
          pos += 2;
        } else if (b0 <= 246) value = b0 - 139;
        else if (b0 <= 250) value = (b0 - 247) * 256 + bytes[pos++]! + 108;
        else if (b0 <= 254) value = -(b0 - 251) * 256 - bytes[pos++]! - 108;
        else pos += 4; // 16.16 fixed: an operand, never a call's index here
        state.depth++;
        literal = value === undefined ? undefined : { value, start };
        continue;
      }
      const wasLiteral = literal;
      literal = undefined;
      if (b0 === OP.callsubr || b0 === OP.callgsubr) {
        const global = b0 === OP.callgsubr;
        const kept = global ? this.globals : locals;
        if (!wasLiteral || !kept) throw new NotUnderstood('a call without a literal index or an INDEX');
        // One global subroutine's bytes serve every font dict, and each dict's locals are renumbered apart.
        if (!global && inGlobal) throw new NotUnderstood('a global subroutine calling a local one');
        const index = wasLiteral.value + subroutineBias(kept.entries.length);
        const subroutine = kept.entries[index];
        if (!subroutine) throw new NotUnderstood('a call past the INDEX');
        state.depth--;
        calls.push({ start: wasLiteral.start, end: start, global, index });
        const firstRun = !kept.renumbered.has(index);
        // A subroutine reached again before its first run has returned calls itself: its calls are not known yet.
        if (!firstRun && !kept.calls.has(index)) throw new NotUnderstood('a subroutine calling itself');
        kept.keep(index);
        const inner = this.run(subroutine, locals, state, level + 1, inGlobal || global);
        if (firstRun) kept.calls.set(index, inner);
        else if (!sameCalls(kept.calls.get(index)!, inner)) throw new NotUnderstood('a subroutine read two ways');
        continue;
      }
      if (b0 === OP.return) return calls;
      if (b0 === OP.escape) {
        const b1 = bytes[pos++]!;
        if (!DRAWING_ESCAPES.has(b1)) throw new NotUnderstood(`escape operator ${b1}`);
        state.depth = 0;
        continue;
      }
      if (!CLEARING_OPS.has(b0)) throw new NotUnderstood(`operator ${b0}`);
      switch (b0) {
        case OP.hstem:
        case OP.vstem:
        case OP.hstemhm:
        case OP.vstemhm:
        case OP.hintmask:
        case OP.cntrmask:
          // As fontkit counts them: an odd operand first is the width, the rest pairs of stems;
          // a hintmask's operands are implicit vstems, and its mask has a bit per stem.
          if (state.depth % 2 !== 0 && !state.haveWidth) {
            state.haveWidth = true;
            state.depth--;
          }
          state.stems += state.depth >> 1;
          if (b0 === OP.hintmask || b0 === OP.cntrmask) pos += (state.stems + 7) >> 3;
          break;
        case OP.rmoveto:
          if (state.depth > 2) state.haveWidth = true;
          break;
        case OP.hmoveto:
        case OP.vmoveto:
          if (state.depth > 1) state.haveWidth = true;
          break;
        case OP.endchar:
          if (state.depth > 0) state.haveWidth = true;
          state.ended = true;
          break;
      }
      state.depth = 0;
    }
    return calls;
  }
}

function sameCalls(a: Call[], b: Call[]): boolean {
  return a.length === b.length && a.every((call, i) => call.start === b[i]!.start && call.end === b[i]!.end && call.global === b[i]!.global && call.index === b[i]!.index);
}

/** The shortest Type 2 encoding of an integer operand. */
function encodeInteger(value: number): number[] {
  if (value >= -107 && value <= 107) return [value + 139];
  if (value >= 108 && value <= 1131) {
    const v = value - 108;
    return [(v >> 8) + 247, v & 0xff];
  }
  if (value >= -1131 && value <= -108) {
    const v = -value - 108;
    return [(v >> 8) + 251, v & 0xff];
  }
  return [OP.shortint, (value >> 8) & 0xff, value & 0xff];
}

/** The charstring's bytes with each call's operand replaced by the callee's new biased index. */
function rewrite(bytes: Uint8Array, entry: IndexEntry, calls: Call[], globals: KeptSubroutines, locals: KeptSubroutines | undefined): Uint8Array {
  if (calls.length === 0) return bytes.subarray(entry.offset, entry.offset + entry.length);
  const out: number[] = [];
  let at = entry.offset;
  for (const call of calls) {
    for (; at < call.start; at++) out.push(bytes[at]!);
    const kept = call.global ? globals : locals!;
    out.push(...encodeInteger(kept.renumbered.get(call.index)! - subroutineBias(kept.order.length)));
    at = call.end;
  }
  for (const end = entry.offset + entry.length; at < end; at++) out.push(bytes[at]!);
  return Uint8Array.from(out);
}

function writeSubroutines(bytes: Uint8Array, kept: KeptSubroutines, globals: KeptSubroutines, locals: KeptSubroutines | undefined): Uint8Array[] {
  return kept.order.map((index) => rewrite(bytes, kept.entries[index]!, kept.calls.get(index)!, globals, locals));
}

/**
 * Makes fontkit's CFF subset keep only the subroutines its glyphs call (see above), for a
 * CID-keyed CFF font; answers false, changing nothing, where fontkit's own subset must run.
 * Call it once, before pdfkit adds glyphs; the work happens when the subset is encoded.
 */
export function compactSubroutines(subset: FontkitCffSubset): boolean {
  const { cff } = subset;
  if (cff.version !== 1 || !cff.isCIDFont || !cff.topDict.FDArray) return false;
  const original = { subsetCharstrings: subset.subsetCharstrings, subsetFontdict: subset.subsetFontdict };
  /** What subsetCharstrings kept, for subsetFontdict: global subroutines, and local ones per font dict (by its index in the font). */
  let kept: { globals: KeptSubroutines; locals: Map<number, KeptSubroutines> } | undefined;

  subset.subsetCharstrings = function (this: FontkitCffSubset) {
    try {
      const bytes = cff.stream.buffer;
      const globals = new KeptSubroutines(cff.globalSubrIndex ?? []);
      const walker = new Walker(bytes, globals);
      const locals = new Map<number, KeptSubroutines>();
      const glyphs: Array<{ entry: IndexEntry; calls: Call[]; fd: number | null }> = [];
      for (const gid of this.glyphs) {
        const entry = cff.topDict.CharStrings[gid];
        if (!entry) throw new NotUnderstood(`no glyph ${gid}`);
        const fd = cff.fdForGlyph(gid);
        let local: KeptSubroutines | undefined;
        if (fd !== null) {
          local = locals.get(fd);
          if (!local) {
            local = new KeptSubroutines((cff.topDict.FDArray![fd]?.Private?.Subrs as IndexEntry[] | null | undefined) ?? []);
            locals.set(fd, local);
          }
        }
        const calls = walker.run(entry, local, { depth: 0, stems: 0, haveWidth: false, ended: false }, 0);
        glyphs.push({ entry, calls, fd });
      }
      this.charstrings = glyphs.map(({ entry, calls, fd }) => rewrite(bytes, entry, calls, globals, fd === null ? undefined : locals.get(fd)));
      this.gsubrs = writeSubroutines(bytes, globals, globals, undefined);
      kept = { globals, locals };
    } catch (error) {
      if (!(error instanceof NotUnderstood)) throw error;
      // Back to fontkit's way for this font: every subroutine kept, glyphs as they are.
      kept = undefined;
      original.subsetCharstrings.call(this);
    }
  };

  subset.subsetFontdict = function (this: FontkitCffSubset, topDict: Record<string, unknown>) {
    if (!kept) {
      original.subsetFontdict.call(this, topDict);
      return;
    }
    const { globals, locals } = kept;
    // As fontkit's: the used font dicts in the order first met, FDSelect format 0 into them;
    // each dict's Subrs the ones kept for it.
    const fdArray: FontDict[] = [];
    const fds: number[] = [];
    const newFd = new Map<number, number>();
    const bytes = cff.stream.buffer;
    for (const gid of this.glyphs) {
      const fd = cff.fdForGlyph(gid);
      if (fd === null) continue;
      let mapped = newFd.get(fd);
      if (mapped === undefined) {
        mapped = fdArray.length;
        newFd.set(fd, mapped);
        const dict: FontDict = { ...cff.topDict.FDArray![fd] };
        delete dict.FontName;
        if (dict.Private && dict.Private.Subrs) {
          const local = locals.get(fd)!;
          // fontkit encodes a Subrs array of byte strings as the INDEX it points to, and leaves a null one out.
          dict.Private = { ...dict.Private, Subrs: local.order.length > 0 ? writeSubroutines(bytes, local, globals, local) : null };
        }
        fdArray.push(dict);
      }
      fds.push(mapped);
    }
    topDict.FDArray = fdArray;
    topDict.FDSelect = { version: 0, fds };
  };
  return true;
}
