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
});
