/**
 * 3. Render throughput: pages per second of a mixed document (headings, paragraphs, lists,
 * tables, CJK lines) through renderPdf, vs raw pdfkit printing the same text in the same
 * faces (bench/documents.ts renderPlain). Both in one warm child process on the server core.
 * renderThroughputRounds is also the scripts document's scenario (render-scripts.ts).
 */
import { entry, interleave, type BenchContext, type Entry, type Target } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import { renderChild, sectionsFor } from './shared.js';

export interface RenderThroughputOptions {
  name: string;
  /** bench/documents.ts's document the child renders (the mixed one when absent). */
  document?: 'scripts';
  sections: number;
  title: (pages: number) => string;
  target: Target;
}

/** Subject and baseline renders of one document, alternating in the warm render child, as one entry. */
export async function renderThroughputRounds(ctx: BenchContext, options: RenderThroughputOptions): Promise<Entry[]> {
  const { settings } = ctx;
  const { name, document, sections } = options;
  const child = await renderChild(ctx, 'render-child');
  const worker = child.value;
  try {
    const render = (engine: 'subject' | 'baseline') => worker.request<RenderTiming>({ op: 'render', engine, sections, ...(document ? { document } : {}) });
    // Warm-up: JIT, font files, and the document itself built outside the timed part.
    const first = await render('subject');
    if (settings.warmup) await render('baseline');
    ctx.log(`${name}: ${settings.renderRounds} rounds of a ${first.pageCount}-page document`);
    const rounds = await interleave(settings.renderRounds, () => render('subject'), () => render('baseline'));
    // The baseline prints the same text without our layout, so it fills a different number
    // of pages; "pages/s" for both is the subject document's pages over each engine's time.
    const pages = first.pageCount;
    return [
      entry({
        name,
        title: options.title(pages),
        unit: 'pages/s',
        subject: rounds.map((r) => r.subject.pageCount / (r.subject.ms / 1000)),
        baseline: rounds.map((r) => pages / (r.baseline.ms / 1000)),
        target: options.target,
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

export function renderThroughputScenario(ctx: BenchContext): Promise<Entry[]> {
  return renderThroughputRounds(ctx, {
    name: 'render-throughput',
    sections: sectionsFor(ctx.settings.renderPages),
    title: (pages) => `Render throughput, ${pages}-page mixed document (vs raw pdfkit, same text and fonts)`,
    // Issue 14: with the outline and the tagged structure on, as every export has them.
    target: { on: 'ratio', op: '>=', value: 0.75 },
  });
}
