/**
 * Locale-aware formatting of the content model's dateTime / date / number nodes.
 * One instance per render. Intl formatters are expensive to construct (building the few
 * a one-page document needs took longer than laying out its text), and immutable, so
 * they are shared by every render of the thread, per (locale, zone, style).
 */

import { calendarDateOf } from '../contract/calendar-date.js';
import { formattingLocale } from './digits.js';

export type DateTimeStyle = 'date' | 'dateTime' | 'time';

/** Option sets per style; exported so callers (and tests) can reproduce the output. */
export const DATE_TIME_OPTIONS: Readonly<Record<DateTimeStyle, Intl.DateTimeFormatOptions>> = {
  date: { year: 'numeric', month: 'short', day: 'numeric' },
  dateTime: { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' },
  time: { hour: 'numeric', minute: '2-digit', timeZoneName: 'short' },
};

/** The footer's export time: all-numeric date, so it stays short in every locale. */
export const EXPORTED_AT_OPTIONS: Readonly<Intl.DateTimeFormatOptions> = {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  timeZoneName: 'short',
};

/** A calendar date has no zone: format it as midnight UTC in UTC so the day never shifts. */
export const CALENDAR_DATE_OPTIONS: Readonly<Intl.DateTimeFormatOptions> = { ...DATE_TIME_OPTIONS.date, timeZone: 'UTC' };

const FALLBACK_LOCALE = 'en-US';
const FALLBACK_ZONE = 'UTC';

/**
 * What every render of this thread has built: formatters, and whether a locale or zone is
 * supported. Bounded (cleared when full), as clients bring locales and zones of their own.
 */
const THREAD_CACHE_LIMIT = 512;
const threadCache = new Map<string, unknown>();
function threadCached<T>(key: string, build: () => T): T {
  if (threadCache.has(key)) return threadCache.get(key) as T;
  const value = build();
  if (threadCache.size >= THREAD_CACHE_LIMIT) threadCache.clear();
  threadCache.set(key, value);
  return value;
}

export class InlineFormatter {
  private readonly dateFormats = new Map<string, Intl.DateTimeFormat>();
  private readonly numberFormats = new Map<number | undefined, Intl.NumberFormat>();
  /** This render's formatted values (formatted()). */
  private readonly memos: Memos = new Map();
  readonly locale: string;
  readonly timezone: string;

  constructor(locale: string, timezone: string) {
    // Both are validated at the API boundary; a bad value here must still not fail the
    // whole export, so degrade to a neutral default instead of throwing.
    // In digits a bundled font draws: the locale's own, or Latin ones (digits.ts).
    this.locale = threadCached(`locale\u0000${locale}`, () => formattingLocale(supportedOr(locale, FALLBACK_LOCALE, (l) => new Intl.DateTimeFormat(l))));
    this.timezone = threadCached(`zone\u0000${timezone}`, () => supportedOr(timezone, FALLBACK_ZONE, (z) => new Intl.DateTimeFormat('en-US', { timeZone: z })));
  }

  dateTime(timestamp: number, style: DateTimeStyle = 'dateTime', zone?: string): string {
    const format = this.dateFormat(zone ?? this.timezone, style, DATE_TIME_OPTIONS[style], needsEra(timestamp));
    return formatted(this.memos, format, timestamp);
  }

  exportedAt(timestamp: number): string {
    return this.dateFormat(this.timezone, 'exportedAt', EXPORTED_AT_OPTIONS).format(timestamp);
  }

  /** `value` is YYYY-MM-DD; anything that is not a real calendar day is shown verbatim. */
  calendarDate(value: string): string {
    const date = calendarDateOf(value);
    if (!date) return value;
    return formatted(this.memos, this.dateFormat('UTC', 'calendarDate', CALENDAR_DATE_OPTIONS, needsEra(date.getTime())), date.getTime());
  }

  number(value: number, maximumFractionDigits?: number): string {
    let format = this.numberFormats.get(maximumFractionDigits);
    if (!format) {
      const locale = this.locale;
      format = threadCached(`number\u0000${locale}\u0000${maximumFractionDigits}`, () =>
        new Intl.NumberFormat(locale, maximumFractionDigits === undefined ? {} : { maximumFractionDigits }),
      );
      this.numberFormats.set(maximumFractionDigits, format);
    }
    return formatted(this.memos, format, value);
  }

  private dateFormat(zone: string, style: string, baseOptions: Intl.DateTimeFormatOptions, era = false): Intl.DateTimeFormat {
    const key = `${zone}\u0000${style}${era ? '\u0000era' : ''}`;
    let format = this.dateFormats.get(key);
    if (!format) {
      const { locale, timezone } = this;
      // The style names one option set; the export's zone is in the key for the fallback below.
      format = threadCached(`date\u0000${locale}\u0000${timezone}\u0000${key}`, () => {
        const options = era && baseOptions.year ? { ...baseOptions, era: 'short' as const } : baseOptions;
        try {
          return new Intl.DateTimeFormat(locale, { ...options, timeZone: options.timeZone ?? zone });
        } catch {
          // A node's own zone is only length-checked by the schema; fall back to the export's.
          return new Intl.DateTimeFormat(locale, { ...options, timeZone: options.timeZone ?? timezone });
        }
      });
      this.dateFormats.set(key, format);
    }
    return format;
  }
}

/**
 * What a formatter gave for a value, remembered per render and formatter: a document's
 * tables repeat their dates and amounts, and an Intl format call costs microseconds each.
 * Per render (the `memos` of its InlineFormatter), not per shared formatter: values are the
 * documents', and a thread's renders must not pile them up. Bounded like the layout caches,
 * as a long document keeps meeting new values.
 */
const FORMATTED_LIMIT = 4096;
type Memos = Map<Intl.DateTimeFormat | Intl.NumberFormat, Map<number, string>>;
function formatted(memos: Memos, format: Intl.DateTimeFormat | Intl.NumberFormat, value: number): string {
  // A Map takes 0 and -0 for one key, and a number format shows them apart.
  if (value === 0) return format.format(value);
  let memo = memos.get(format);
  if (!memo) {
    memo = new Map();
    memos.set(format, memo);
  }
  let text = memo.get(value);
  if (text === undefined) {
    text = format.format(value);
    if (memo.size >= FORMATTED_LIMIT) memo.clear();
    memo.set(value, text);
  }
  return text;
}

/** The first instant of the year 1 (UTC). */
const YEAR_ONE = (() => {
  const date = new Date(0);
  date.setUTCFullYear(1, 0, 1);
  return date.getTime();
})();

/**
 * Without an era, Intl shows 1 BC as "1" and 271822 BC as "271822", as if they were AD.
 * Years before 2 get their era (a day either side of the year 1 in any zone included).
 */
const needsEra = (timestamp: number): boolean => timestamp < YEAR_ONE + 366 * 86_400_000;

function supportedOr(value: string, fallback: string, probe: (value: string) => unknown): string {
  try {
    probe(value);
    return value;
  } catch {
    return fallback;
  }
}
