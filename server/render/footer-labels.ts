/**
 * The footer's "Exported <date>" label in the export's language, chosen by the locale's
 * language subtag (`de-AT` and `de-CH` read `de`); English for every other language. The
 * date after it is Intl-formatted for the full locale (format.ts), so the words and the
 * date agree in language while the date keeps its regional form.
 *
 * Arabic and Hebrew keep the English label on purpose: pdfkit lays a right-to-left run out
 * as one reversed glyph run and draws our line left to right, with no bidi reordering, so a
 * label followed by a date would come out in the wrong order (Arabic-Indic digits of an
 * Arabic date are already reversed by the same cause). Add them here once lines are laid
 * out with the Unicode bidi algorithm.
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
  // ar, he: English, see above.
};

/** The label for a BCP 47 locale (any case, `_` tolerated); English when its language is not in the table. */
export function exportedLabel(locale: string): string {
  const language = /^[A-Za-z]{2,8}/.exec(locale)?.[0]?.toLowerCase() ?? '';
  return Object.hasOwn(EXPORTED_LABELS, language) ? EXPORTED_LABELS[language]! : EXPORTED_LABELS.en!;
}

/** Languages with a label of their own, for tests and docs. */
export const LABELLED_LANGUAGES: readonly string[] = Object.keys(EXPORTED_LABELS);
