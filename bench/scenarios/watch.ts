/**
 * Following a job by watch (issue 12): end-to-end latency of one export at a time when the
 * client follows it by the `watch` subscription (the typed client's exportPdf: create, watch,
 * download) vs renderPdf alone; and the API's CPU per export with `idleListeners` event streams
 * open on jobs that never change vs none.
 */
import { createNotepadClient, exportPdf, type NotepadClient } from '../../client/index.js';
import { DEMO_CONTENT } from '../../server/seed.js';
import { cpuSpent, entry, interleave, median, readCpu, sleep, type BenchContext, type Entry } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import { seedHeldExportJobs, seedOtherUser } from '../seed.js';
import { fullService, renderChild, type Service } from './shared.js';

const round1 = (value: number) => Math.round(value * 10) / 10;
const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;

/** One export of the demo document, followed by watch, downloaded: its wall time in ms. */
async function watchedExport(client: NotepadClient, service: Service): Promise<number> {
  const start = performance.now();
  const { bytes } = await exportPdf(client, { exportJobSource: { type: 'documentSource', documentRid: service.documentRid }, exportJobTarget: target }, { timeoutMs: 120_000 });
  if (bytes.length === 0) throw new Error('an empty PDF');
  return performance.now() - start;
}

export async function e2eWatchScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const [service, child] = await Promise.all([fullService(ctx, 'e2e-subject'), renderChild(ctx, 'e2e-render-child')]);
  try {
    const client = createNotepadClient({ url: service.value.server.url, token: service.value.seed.token });
    const n = settings.e2eExports;
    const exports = async () => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push(await watchedExport(client, service.value));
      return median(ms);
    };
    const renders = async () => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push((await child.value.request<RenderTiming>({ op: 'renderDemo' })).ms);
      return median(ms);
    };
    for (let i = 0; settings.warmup && i < settings.warmupExports; i++) {
      await watchedExport(client, service.value);
      await child.value.request<RenderTiming>({ op: 'renderDemo' });
    }
    ctx.log(`e2e-watch: ${settings.rounds} rounds of ${n} sequential exports followed by watch`);
    const rounds = await interleave(settings.rounds, exports, renders);
    return [
      entry({
        name: 'e2e-watch-latency',
        title: 'End-to-end export latency followed by watch (exportPdf: create, watch, download), demo document, one at a time (vs renderPdf alone)',
        unit: 'ms',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '<=', value: 1.15 },
        details: { exportsPerRound: n, role: 'all', follow: 'notepad.exportJobs.watch (SSE)' },
      }),
    ];
  } finally {
    await Promise.all([service.release(), child.release()]);
  }
}

/** Opens `rids.length` event streams and reads them until `close`. */
async function openListeners(baseUrl: string, token: string, rids: readonly string[]): Promise<() => void> {
  const controller = new AbortController();
  const opened = await Promise.all(
    rids.map(async (rid) => {
      const response = await fetch(`${baseUrl}/api/v2/notepad/exportJobs/${rid}/events?preview=true`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
      if (response.status !== 200) throw new Error(`events -> ${response.status} ${await response.text()}`);
      const reader = response.body!.getReader();
      // The first event (the job as it is), then nothing until closed.
      void (async () => {
        for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
      })();
    }),
  );
  if (opened.length !== rids.length) throw new Error('not every listener opened');
  return () => controller.abort();
}

export async function idleListenersScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const service = await fullService(ctx, 'e2e-subject');
  try {
    const { seed, server } = service.value;
    const listener = await seedOtherUser(seed, `Listener ${Date.now()}`, { idle: DEMO_CONTENT });
    const idle = seedHeldExportJobs(seed, listener.userId, listener.documents.idle!, settings.idleListeners, Date.now() + 86_400_000);
    const client = createNotepadClient({ url: server.url, token: seed.token });
    const n = settings.e2eExports * 2;
    /** The service's CPU (event loop, and all threads) per export over n sequential exports. */
    const measure = async () => {
      const before = readCpu(server.pid);
      for (let i = 0; i < n; i++) await watchedExport(client, service.value);
      const spent = cpuSpent(before, readCpu(server.pid));
      if (!spent) throw new Error('no CPU figures (needs /proc)');
      return { mainMs: spent.mainMs / n, totalMs: spent.totalMs / n };
    };
    const withListeners = async () => {
      const close = await openListeners(server.url, listener.token, idle);
      // Let the opening settle: what is measured is listeners waiting, not connecting.
      await sleep(500);
      try {
        return await measure();
      } finally {
        close();
        await sleep(200);
      }
    };
    for (let i = 0; settings.warmup && i < settings.warmupExports; i++) await watchedExport(client, service.value);
    ctx.log(`idle-listeners: ${settings.rounds} rounds of ${n} exports, with ${idle.length} idle event streams vs none`);
    const rounds = await interleave(settings.rounds, withListeners, measure);
    return [
      entry({
        name: 'idle-listeners-cpu',
        title: `API (event loop) CPU per export with ${idle.length} idle event-stream listeners (vs none)`,
        unit: 'ms',
        subject: rounds.map((r) => r.subject.mainMs),
        baseline: rounds.map((r) => r.baseline.mainMs),
        target: { on: 'ratio', op: '<=', value: 1.2 },
        details: {
          exportsPerRound: n,
          idleListeners: idle.length,
          allThreadsCpuMsPerExportWith: round1(median(rounds.map((r) => r.subject.totalMs))),
          allThreadsCpuMsPerExportWithout: round1(median(rounds.map((r) => r.baseline.totalMs))),
        },
      }),
    ];
  } finally {
    await service.release();
  }
}
