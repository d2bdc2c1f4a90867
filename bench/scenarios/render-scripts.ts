/**
 * Render throughput of the scripts document (bench/documents.ts scriptsDocument: Hebrew with
 * numbers and Latin names, Arabic with dates, Devanagari, Thai, tables of them), 50 pages,
 * through renderPdf: bidi, shaping in both directions and dictionary line breaks. Against
 * raw pdfkit printing the same text in the same faces (fontkit still shapes each word).
 */
import type { BenchContext, Entry } from '../harness.js';
import { renderThroughputRounds } from './render-throughput.js';

/** Pages per scriptsDocument section (measured: 49 pages from 88 sections). */
const PAGES_PER_SECTION = 49 / 88;

export function renderScriptsScenario(ctx: BenchContext): Promise<Entry[]> {
  return renderThroughputRounds(ctx, {
    name: 'render-scripts-throughput',
    document: 'scripts',
    sections: Math.max(1, Math.round(ctx.settings.scriptPages / PAGES_PER_SECTION)),
    title: (pages) => `Render throughput, ${pages}-page right-to-left/Devanagari/Thai document (vs raw pdfkit, same text and fonts)`,
    target: { on: 'ratio', op: '>=', value: 0.5 },
  });
}
