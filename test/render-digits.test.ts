import { describe, expect, it } from 'vitest';
import { digitsOf, drawsDigitsOf, formattingLocale } from '../server/render/digits.js';
import { EXPORTED_AT_OPTIONS } from '../server/render/format.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { readPdf } from './render-pdf-text.js';

// Numbers, dates and the footer in the digits of the export's locale, never as boxes.

// Every language CLDR has data for, and regional or script variants whose digits differ.
const LANGUAGES =
  'af ak am ar as ast az be bg bgc bho bm bn bo br brx bs ca ccp ce ceb chr ckb cs cv cy da de doi dsb dz ee el en eo es et eu fa ff fi fil fo fr fy ga gd gl gsw gu ha he hi hr hsb hu hy ia id ig is it ja jv ka kk km kn ko kok ks ku ky lb lg ln lo lrc lt lu lv mai mi mk ml mn mni mr ms mt my mzn nb ne nl nn no om or pa pcm pl ps pt qu raj rm rn ro ru rw sa sah sat sc sd se si sk sl so sq sr su sv sw ta te tg th ti tk to tr tt ug uk ur uz vi wo xh yo yrl yue zh zu'.split(' ');
const VARIANTS = ['ar-EG', 'ar-SA', 'ar-MA', 'ar-IQ', 'fa-AF', 'ur-IN', 'ur-PK', 'uz-Arab', 'pa-Arab', 'ps-PK', 'bn-IN', 'bn-BD', 'ne-NP', 'mr-IN', 'my-MM', 'mni-Mtei', 'sat-Deva', 'ff-Adlm', 'th-TH-u-nu-thai', 'hi-IN-u-nu-deva', 'ar-u-nu-arab', 'zh-u-nu-hanidec'];
const LOCALES = [...LANGUAGES, ...VARIANTS];
const systemOf = (locale: string) => new Intl.NumberFormat(locale).resolvedOptions().numberingSystem;

describe('the digits of a locale', () => {
  it('are kept when the bundled fonts draw all ten, and replaced by Latin digits otherwise, for every locale Intl knows', () => {
    const kept = new Set<string>();
    const replaced = new Set<string>();
    for (const locale of LOCALES) {
      const system = systemOf(locale);
      const chosen = formattingLocale(locale);
      if (drawsDigitsOf(system)) {
        expect(chosen, locale).toBe(locale);
        kept.add(system);
      } else {
        expect(systemOf(chosen), locale).toBe('latn');
        expect(new Intl.DateTimeFormat(chosen).resolvedOptions().numberingSystem, locale).toBe('latn');
        replaced.add(system);
      }
    }
    // What README.md promises: these scripts' digits are drawn ...
    for (const system of ['latn', 'arab', 'arabext', 'beng', 'deva', 'mymr', 'thai', 'hanidec']) expect(kept).toContain(system);
    // ... and these have no bundled font yet, so their locales get Latin digits.
    expect([...replaced].sort()).toEqual(['adlm', 'cakm', 'olck', 'tibt']);
  });

  it('are the ten of the numbering system, in order', () => {
    expect(digitsOf('deva')).toBe('०१२३४५६७८९');
    expect(digitsOf('latn')).toBe('0123456789');
  });

  const EXPORTED_AT = Date.UTC(2026, 11, 24, 18, 5, 0);
  const VALUE = 1234567890.5;

  it.each(['ne-NP', 'mr-IN', 'bn-BD', 'my-MM', 'th-TH-u-nu-thai', 'ar-EG'])(
    '%s: numbers, dates and the footer in the locale\'s own digits, in the text layer',
    async (locale) => {
      const digits = digitsOf(systemOf(locale));
      const result = await renderPdf({
        title: 'Digits',
        content: { blocks: [{ type: 'paragraph', content: [{ type: 'number', value: VALUE }, { type: 'text', text: ' · ' }, { type: 'dateTime', timestamp: EXPORTED_AT }] }] },
        locale,
        timezone: 'Asia/Kathmandu',
        exportedAt: EXPORTED_AT,
      });
      expect(result.missingCodePoints).toEqual([]);
      const page = (await readPdf(result.pdf)).pages[0]!;
      const bare = (s: string) => s.replace(/[\s\u200e\u200f\u061c]/g, '');
      // All ten digits, as Intl writes the number, and the footer's date as Intl writes it.
      const number = new Intl.NumberFormat(locale).format(VALUE);
      for (const digit of digits) expect(number).toContain(digit);
      expect(bare(page)).toContain(bare(number));
      const footerDate = new Intl.DateTimeFormat(locale, { ...EXPORTED_AT_OPTIONS, timeZone: 'Asia/Kathmandu' }).format(EXPORTED_AT);
      expect(bare(page)).toContain(bare(footerDate));
    },
  );

  it('dz-BT (Tibetan digits, no bundled font): Latin digits rather than boxes', async () => {
    const result = await renderPdf({
      title: 'Digits',
      content: { blocks: [{ type: 'paragraph', content: [{ type: 'number', value: VALUE }] }] },
      locale: 'dz-BT',
      timezone: 'UTC',
      exportedAt: EXPORTED_AT,
    });
    const page = (await readPdf(result.pdf)).pages[0]!;
    expect(page).toContain(new Intl.NumberFormat('dz-BT-u-nu-latn').format(VALUE));
    for (const digit of digitsOf('tibt')) expect(result.missingCodePoints).not.toContain(digit.codePointAt(0));
  });
});
