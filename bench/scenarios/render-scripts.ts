/**
 * Render throughput of the scripts document (bench/documents.ts scriptsDocument: Hebrew with
 * numbers and Latin names, Arabic with dates, Devanagari, Thai, tables of them), 50 pages,
 * through renderPdf: bidi, shaping in both directions and dictionary line breaks. Against
 * raw pdfkit printing the same text in the same faces (fontkit still shapes each word).
 */
import { entry, interleave, type BenchContext, type Entry } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import { renderChild } from './shared.js';

/** Pages per scriptsDocument section (measured: 49 pages from 88 sections). */
const PAGES_PER_SECTION = 49 / 88;

export async function renderScriptsScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const sections = Math.max(1, Math.round(settings.scriptPages / PAGES_PER_SECTION));
  const child = await renderChild(ctx, 'render-child');
  const worker = child.value;
  try {
    const render = (engine: 'subject' | 'baseline') => worker.request<RenderTiming>({ op: 'render', engine, sections, document: 'scripts' });
    const first = await render('subject');
    if (settings.warmup) await render('baseline');
    ctx.log(`render-scripts: ${settings.renderRounds} rounds of a ${first.pageCount}-page document`);
    const rounds = await interleave(settings.renderRounds, () => render('subject'), () => render('baseline'));
    const pages = first.pageCount;
    return [
      entry({
        name: 'render-scripts-throughput',
        title: `Render throughput, ${pages}-page right-to-left/Devanagari/Thai document (vs raw pdfkit, same text and fonts)`,
        unit: 'pages/s',
        subject: rounds.map((r) => r.subject.pageCount / (r.subject.ms / 1000)),
        baseline: rounds.map((r) => pages / (r.baseline.ms / 1000)),
        target: { on: 'ratio', op: '>=', value: 0.5 },
        details: {
          sections,
          pages,
          baselinePages: rounds[0]?.baseline.pageCount,
          ms: rounds.map((r) => [Math.round(r.subject.ms), Math.round(r.baseline.ms)]),
          bytes: [rounds[0]?.subject.bytes, rounds[0]?.baseline.bytes],
        },
      }),
    ];
  } finally {
    await child.release();
  }
}
