import { describe, expect, it } from 'vitest';
import { segmentByFace } from '../server/render/fonts.js';
import { InlineFormatter } from '../server/render/format.js';

describe('font fallback segmentation', () => {
  it('splits runs by the first face covering each code point, keeping spaces in the current face', () => {
    const missing = new Set<number>();
    expect(segmentByFace('Hi Ωμέγα 日本語 ok', 'regular', missing)).toEqual([
      { text: 'Hi Ωμέγα ', face: 'sans', missing: 0 },
      { text: '日本語 ', face: 'jp', missing: 0 },
      { text: 'ok', face: 'sans', missing: 0 },
    ]);
    expect(segmentByFace('太字 bold', 'bold', missing)).toEqual([
      { text: '太字 ', face: 'jpBold', missing: 0 },
      { text: 'bold', face: 'sansBold', missing: 0 },
    ]);
    expect(segmentByFace('x = Привет; // 中', 'mono', missing)).toEqual([
      { text: 'x = Привет; // ', face: 'mono', missing: 0 },
      { text: '中', face: 'jp', missing: 0 },
    ]);
    expect(missing.size).toBe(0);
  });

  it('keeps uncovered code points in the primary face and reports them', () => {
    const missing = new Set<number>();
    expect(segmentByFace('a\u{10000}bꀀ', 'italic', missing)).toEqual([{ text: 'a\u{10000}bꀀ', face: 'sansOblique', missing: 2 }]);
    expect([...missing].sort((a, b) => a - b)).toEqual([0xa000, 0x10000]);
  });
});

describe('InlineFormatter', () => {
  it('shows calendar dates that do not exist verbatim and keeps years below 100', () => {
    const format = new InlineFormatter('en-US', 'America/New_York');
    expect(format.calendarDate('2026-02-30')).toBe('2026-02-30');
    expect(format.calendarDate('0099-12-31')).toBe('Dec 31, 99');
  });

  it('falls back for an unusable locale, zone, or node zone instead of failing the export', () => {
    const format = new InlineFormatter('not a locale!', 'Mars/Olympus_Mons');
    expect(format.locale).toBe('en-US');
    expect(format.timezone).toBe('UTC');
    const fine = new InlineFormatter('en-US', 'Europe/Berlin');
    expect(fine.dateTime(0, 'time', 'No/Such_Zone')).toBe(fine.dateTime(0, 'time'));
  });

  it('shares formatters between renders without mixing up their locales, zones or fallbacks', () => {
    const at = Date.UTC(2026, 9, 1, 9, 30);
    const intl = (locale: string, timeZone: string) =>
      new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone }).format(at);
    // Each pair in turn, twice over: the second round is served by what the first built.
    for (let round = 0; round < 2; round++) {
      for (const [locale, zone] of [
        ['en-US', 'America/New_York'],
        ['en-US', 'Asia/Tokyo'],
        ['de-DE', 'America/New_York'],
      ] as const) {
        const format = new InlineFormatter(locale, zone);
        expect(format.dateTime(at)).toBe(intl(locale, zone));
        // A node zone nobody has falls back to this render's zone, not to another render's.
        expect(format.dateTime(at, 'dateTime', 'No/Such_Zone')).toBe(intl(locale, zone));
        expect(format.number(1234.5, 1)).toBe(new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(1234.5));
      }
    }
  });

  it("keeps a render's formatted values with that render only, though its formatters are shared", () => {
    const memoSize = (format: InlineFormatter) => [...(format as unknown as { memos: Map<unknown, Map<number, string>> }).memos.values()].reduce((n, memo) => n + memo.size, 0);
    const first = new InlineFormatter('en-US', 'UTC');
    for (let i = 1; i <= 100; i++) first.number(i * 1.5, 1);
    expect(memoSize(first)).toBe(100);
    const next = new InlineFormatter('en-US', 'UTC');
    expect(memoSize(next)).toBe(0);
    expect(next.number(3, 1)).toBe('3');
    expect(memoSize(next)).toBe(1);
  });
});
