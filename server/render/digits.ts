/**
 * The digits an export's numbers, dates and footer are written in. Intl picks a locale's
 * own digits by default (Devanagari for ne-NP and mr-IN, Bengali for bn-BD, Burmese for
 * my-MM, Arabic-Indic for ar-EG, ...) or when the locale asks (`th-TH-u-nu-thai`). They
 * are kept when a bundled font draws all ten; otherwise the locale is switched to Latin
 * digits (`-u-nu-latn`), so no number is ever printed as empty boxes. This is the one
 * place that decides; format.ts formats with the locale it returns.
 */
import { isCovered } from './fonts.js';

/** The ten digits of a numbering system, 0 to 9. */
export function digitsOf(numberingSystem: string): string {
  const format = new Intl.NumberFormat(`en-u-nu-${numberingSystem}`, { useGrouping: false });
  let digits = '';
  for (let d = 0; d <= 9; d++) digits += format.format(d);
  return digits;
}

/** True when the bundled fonts draw every digit of the numbering system. */
export function drawsDigitsOf(numberingSystem: string): boolean {
  if (numberingSystem === 'latn') return true;
  for (const digit of digitsOf(numberingSystem)) if (!isCovered(digit.codePointAt(0)!)) return false;
  return true;
}

const chosen = new Map<string, string>();
// Locales arrive from users; past this many distinct ones the answer is simply not memoised.
const MEMO_LIMIT = 1024;

/**
 * The locale to format with: `locale` itself when the bundled fonts draw the digits Intl
 * picks for it (for numbers and for dates, which may differ), else the same locale with
 * Latin digits. `locale` must be one Intl accepts.
 */
export function formattingLocale(locale: string): string {
  const hit = chosen.get(locale);
  if (hit !== undefined) return hit;
  const systems = new Set([new Intl.NumberFormat(locale).resolvedOptions().numberingSystem, new Intl.DateTimeFormat(locale).resolvedOptions().numberingSystem]);
  let result = locale;
  for (const system of systems) {
    if (!drawsDigitsOf(system)) {
      result = new Intl.Locale(locale, { numberingSystem: 'latn' }).toString();
      break;
    }
  }
  if (chosen.size < MEMO_LIMIT) chosen.set(locale, result);
  return result;
}
