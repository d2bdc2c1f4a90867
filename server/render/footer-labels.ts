/**
 * The footer's "Exported <date>" label in the export's language, chosen by the locale's
 * language subtag (`de-AT` and `de-CH` read `de`); English for every other language. The
 * date after it is Intl-formatted for the full locale (format.ts), so the words and the
 * date agree in language while the date keeps its regional form.
 *
 * Arabic and Hebrew labels are noun phrases ("export date"), like the Japanese and Chinese
 * ones; the line is laid out with the Unicode bidi algorithm (text-layout.ts), so the date
 * after a right-to-left label keeps its own order.
 */
const EXPORTED_LABELS: Readonly<Record<string, string>> = {
  en: 'Exported',
  de: 'Exportiert am',
  fr: 'Exporté le',
  es: 'Exportado el',
  it: 'Esportato il',
  pt: 'Exportado em',
  nl: 'Geëxporteerd op',
  pl: 'Wyeksportowano',
  ru: 'Экспортировано',
  ja: 'エクスポート日時',
  zh: '导出时间',
  ko: '내보낸 시간',
  ar: 'تاريخ التصدير',
  he: 'תאריך ייצוא',
};

/** The label for a BCP 47 locale (any case, `_` tolerated); English when its language is not in the table. */
export function exportedLabel(locale: string): string {
  const language = /^[A-Za-z]{2,8}/.exec(locale)?.[0]?.toLowerCase() ?? '';
  return Object.hasOwn(EXPORTED_LABELS, language) ? EXPORTED_LABELS[language]! : EXPORTED_LABELS.en!;
}

/** Languages with a label of their own, for tests and docs. */
export const LABELLED_LANGUAGES: readonly string[] = Object.keys(EXPORTED_LABELS);
