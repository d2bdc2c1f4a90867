/**
 * 3. Render throughput: pages per second of a mixed document (headings, paragraphs, lists,
 * tables, CJK lines) through renderPdf, vs raw pdfkit printing the same text in the same
 * faces (bench/documents.ts renderPlain). Both in one warm child process on the server core.
 */
import { entry, interleave, type BenchContext, type Entry } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import { renderChild, sectionsFor } from './shared.js';

export async function renderThroughputScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const sections = sectionsFor(settings.renderPages);
  const child = await renderChild(ctx, 'render-child');
  const worker = child.value;
  try {
    const render = (engine: 'subject' | 'baseline') => worker.request<RenderTiming>({ op: 'render', engine, sections });
    // Warm-up: JIT, font files, and the document itself built outside the timed part.
    const first = await render('subject');
    if (settings.warmup) await render('baseline');
    ctx.log(`render-throughput: ${settings.renderRounds} rounds of a ${first.pageCount}-page document`);
    const rounds = await interleave(settings.renderRounds, () => render('subject'), () => render('baseline'));
    // The baseline prints the same text without our layout, so it fills a different number
    // of pages; "pages/s" for both is the subject document's pages over each engine's time.
    const pages = first.pageCount;
    return [
      entry({
        name: 'render-throughput',
        title: `Render throughput, ${pages}-page mixed document (vs raw pdfkit, same text and fonts)`,
        unit: 'pages/s',
        subject: rounds.map((r) => r.subject.pageCount / (r.subject.ms / 1000)),
        baseline: rounds.map((r) => pages / (r.baseline.ms / 1000)),
        // Issue 14: with the outline and the tagged structure on, as every export has them.
        target: { on: 'ratio', op: '>=', value: 0.75 },
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
