/**
 * 6. Growth: render time per page and the renderer's peak RSS as documents grow (one fresh
 * child process rendering directly), and create throughput over a big export_jobs table.
 */
import { entry, interleave, runLoad, type BenchContext, type Entry } from '../harness.js';
import type { MemoryReport, RenderTiming } from '../render-child.js';
import { RENDER_WORKER_LIMITS } from '../../server/render/pool.js';
import { apiService, checkAndWarm, renderChild, restCreate, sectionsFor } from './shared.js';

const peakMb = (memory: MemoryReport) => memory.vmHwmMb ?? memory.maxRssMb;

export async function renderGrowthScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const [small, middle, large] = settings.growthPages.map(sectionsFor) as [number, number, number];
  // Fresh, so its peak RSS is this scenario's: a warm-up at the small size, then the large one.
  const child = await renderChild(ctx, 'growth-render-child', { fresh: true });
  const worker = child.value;
  try {
    const render = (sections: number) => worker.request<RenderTiming>({ op: 'render', engine: 'subject', sections });
    const memory = () => worker.request<MemoryReport>({ op: 'memory' });
    if (settings.warmup) await render(small);
    const afterSmall = await memory();
    let afterFirstLarge: MemoryReport | undefined;
    ctx.log(`render-growth: ${settings.growthRounds} rounds of ${settings.growthPages[0]} and ${settings.growthPages[2]} pages, ${settings.growthPages[1]} once`);
    const rounds = await interleave(
      settings.growthRounds,
      async () => {
        const timing = await render(large);
        afterFirstLarge ??= await memory();
        return timing;
      },
      () => render(small),
    );
    const mid = await render(middle);
    const atEnd = await memory();
    const perPage = (t: RenderTiming) => t.ms / t.pageCount;
    const largePages = rounds[0]!.subject.pageCount;
    const smallPages = rounds[0]!.baseline.pageCount;
    return [
      entry({
        name: 'render-growth-per-page',
        title: `Render time per page at ${largePages} pages (vs at ${smallPages} pages)`,
        unit: 'ms/page',
        subject: rounds.map((r) => perPage(r.subject)),
        baseline: rounds.map((r) => perPage(r.baseline)),
        target: { on: 'ratio', op: '<=', value: 1.3 },
        details: {
          pages: [smallPages, mid.pageCount, largePages],
          middlePerPageMs: perPage(mid),
          largeRenderMs: rounds.map((r) => Math.round(r.subject.ms)),
          largePdfBytes: rounds[0]!.subject.bytes,
        },
      }),
      entry({
        name: 'render-peak-rss',
        title: `Renderer peak RSS rendering ${largePages} pages (vs after ${smallPages} pages)`,
        unit: 'MB',
        subject: [peakMb(afterFirstLarge!)],
        baseline: [peakMb(afterSmall)],
        target: { on: 'subject', op: '<=', value: 300 },
        details: {
          source: afterSmall.vmHwmMb === undefined ? 'process.resourceUsage().maxRSS' : '/proc/self/status VmHWM',
          maxRssMb: [afterSmall.maxRssMb, afterFirstLarge!.maxRssMb],
          afterLargeHeapMb: { used: afterFirstLarge!.heapUsedMb, total: afterFirstLarge!.heapTotalMb, external: afterFirstLarge!.externalMb },
          peakAfterAllRendersMb: peakMb(atEnd),
          workerLimits: RENDER_WORKER_LIMITS,
        },
      }),
    ];
  } finally {
    await child.release();
  }
}

export async function createAtScaleScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const [full, empty] = await Promise.all([
    apiService(ctx, 'jobs-full-subject', { existingJobs: settings.existingJobs }),
    apiService(ctx, 'jobs-empty-subject', { fresh: true }),
  ]);
  try {
    const load = { connections: settings.connections, seconds: settings.loadSeconds };
    const request = ({ server, seed, documentRid }: typeof full.value) => ({ ...restCreate(server.url, seed.token, documentRid), ...load });
    const fullLoad = request(full.value);
    const emptyLoad = request(empty.value);
    await checkAndWarm(ctx, fullLoad);
    await checkAndWarm(ctx, emptyLoad);
    ctx.log(`create-at-scale: ${settings.rounds} rounds of ${settings.loadSeconds}s at ${settings.connections} connections`);
    const rounds = await interleave(settings.rounds, () => runLoad(fullLoad), () => runLoad(emptyLoad));
    return [
      entry({
        name: 'create-at-scale',
        title: `REST create throughput over ${settings.existingJobs.toLocaleString('en-US')} existing export jobs (vs an empty table)`,
        unit: 'req/s',
        subject: rounds.map((r) => r.subject.rps),
        baseline: rounds.map((r) => r.baseline.rps),
        target: { on: 'ratio', op: '>=', value: 0.8 },
        details: { existingJobs: settings.existingJobs, connections: settings.connections, p99: rounds.map((r) => [r.subject.p99, r.baseline.p99]) },
      }),
    ];
  } finally {
    await Promise.all([full.release(), empty.release()]);
  }
}
