import { NotepadError } from './errors.js';

/** Longest display name, in code points. */
export const MAX_DISPLAY_NAME_LENGTH = 700;

/**
 * Foundry's display-name rule for documents, folders and templates, whichever path
 * creates them (saveDocument, the admin API, the CLI): not empty or blank, not "." or
 * "..", no "/", at most 700 code points, and no control characters (Unicode Cc), which
 * no file manager or PDF viewer shows faithfully.
 */
export function isValidDisplayName(name: string): boolean {
  return (
    name.trim() !== '' &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !/\p{Cc}/u.test(name) &&
    [...name].length <= MAX_DISPLAY_NAME_LENGTH
  );
}

/** The name, if valid; otherwise the contract's InvalidDisplayName with it as the parameter. */
export function checkDisplayName(name: string): string {
  if (!isValidDisplayName(name)) throw new NotepadError('InvalidDisplayName', { displayName: name });
  return name;
}
