import { NotepadError } from './errors.js';

/** Longest display name, in code points. */
export const MAX_DISPLAY_NAME_LENGTH = 700;

/**
 * Characters that show nothing yet change what a name is: bidi controls (U+202E makes
 * "report\u202Efdp.exe" look like "reportexe.pdf"), zero-width spaces, word joiners, soft
 * hyphens, the BOM, invisible operators. Unicode's Default_Ignorable_Code_Point, less the
 * joiners and variation selectors that scripts and emoji need between visible characters.
 */
const INVISIBLE = /(?![\u200C\u200D\uFE00-\uFE0F\u{E0100}-\u{E01EF}])\p{Default_Ignorable_Code_Point}/u;
const JOINER_FIRST = /^[\u200C\u200D\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u;

/**
 * Foundry's display-name rule for documents, folders and templates, whichever path
 * creates them (saveDocument, the admin API, the CLI): not empty, not "." or "..", no
 * "/", at most 700 code points; and, so that two names that look alike are alike, no
 * control or invisible characters, no leading or trailing white space, and compared in
 * Unicode NFC (checkDisplayName returns that form, which is what is stored).
 */
export function isValidDisplayName(name: string): boolean {
  return (
    // A lone surrogate (from a JSON \uD800 escape) would be stored as U+FFFD.
    !/\p{Cs}/u.test(name) &&
    name.trim() !== '' &&
    name === name.trim() &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !/\p{Cc}/u.test(name) &&
    !INVISIBLE.test(name) &&
    !JOINER_FIRST.test(name) &&
    [...name.normalize('NFC')].length <= MAX_DISPLAY_NAME_LENGTH
  );
}

/**
 * How much of a refused name its error echoes: all of any name near the limit, but not a
 * request body's worth back in the answer and the log line.
 */
export const ECHOED_DISPLAY_NAME_LENGTH = 1_000;

/** The name, or its first ECHOED_DISPLAY_NAME_LENGTH code points and an ellipsis. */
function echoed(name: string): string {
  if (name.length <= ECHOED_DISPLAY_NAME_LENGTH) return name;
  let kept = '';
  let points = 0;
  for (const point of name) {
    if (points++ === ECHOED_DISPLAY_NAME_LENGTH) return `${kept}…`;
    kept += point;
  }
  return kept;
}

/** The name in NFC, if valid; otherwise the contract's InvalidDisplayName with it (or its start) as the parameter. */
export function checkDisplayName(name: string): string {
  if (!isValidDisplayName(name)) throw new NotepadError('InvalidDisplayName', { displayName: echoed(name) });
  return name.normalize('NFC');
}
