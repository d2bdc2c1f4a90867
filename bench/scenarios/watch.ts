/**
 * Following a job by watch (issue 12): end-to-end latency of one export at a time when the
 * client follows it by the `watch` subscription (the typed client's exportPdf: create, watch,
 * download) vs renderPdf alone, with, in the same rounds, the floor any server reaches here
 * (servers/floor-export.ts); and the API's CPU per export with `idleListeners` event streams
 * open on jobs that never change vs none.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNotepadClient, exportPdf, type NotepadClient } from '../../client/index.js';
import { DEMO_CONTENT } from '../../server/seed.js';
import { cpuSpent, entry, interleave, median, readCpu, rotate, sleep, startServer, type BenchContext, type Entry } from '../harness.js';
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

/**
 * One export through the floor server: create, its event stream read up to the event, the
 * file downloaded, with the same fetch (undici) the typed client uses. Its wall time in ms.
 */
async function floorExport(baseUrl: string): Promise<number> {
  const start = performance.now();
  const created = await fetch(`${baseUrl}/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ exportJobSource: { type: 'documentSource' }, exportJobTarget: target }) });
  const { rid } = (await created.json()) as { rid: string };
  const events = await fetch(`${baseUrl}/events/${rid}`);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (let text = ''; !text.includes('\n\n'); ) {
    const { done, value } = await reader.read();
    if (done) throw new Error('the floor server closed the event stream without an event');
    text += value;
  }
  await reader.cancel();
  const file = await fetch(`${baseUrl}/files/${rid}`);
  if (!file.ok || (await file.arrayBuffer()).byteLength === 0) throw new Error(`floor download -> ${file.status}`);
  return performance.now() - start;
}

export async function e2eWatchScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const floorDir = join(ctx.workDir, 'floor-export');
  mkdirSync(floorDir, { recursive: true });
  const [service, child, floor] = await Promise.all([
    fullService(ctx, 'e2e-subject'),
    renderChild(ctx, 'e2e-render-child'),
    startServer({ name: 'floor-export', script: 'bench/servers/floor-export.ts', ready: 'stdout', pinning: ctx.pinning, timeoutMs: settings.startTimeoutMs, env: { FLOOR_DIR: floorDir } }),
  ]);
  try {
    const client = createNotepadClient({ url: service.value.server.url, token: service.value.seed.token });
    const n = settings.e2eExports;
    const medianOf = async (one: () => Promise<number>) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push(await one());
      return median(ms);
    };
    const exports = () => medianOf(() => watchedExport(client, service.value));
    const floorExports = () => medianOf(() => floorExport(floor.url));
    const renders = () => medianOf(async () => (await child.value.request<RenderTiming>({ op: 'renderDemo' })).ms);
    for (let i = 0; settings.warmup && i < settings.warmupExports; i++) {
      await watchedExport(client, service.value);
      await floorExport(floor.url);
      await child.value.request<RenderTiming>({ op: 'renderDemo' });
    }
    ctx.log(`e2e-watch: ${settings.rounds} rounds of ${n} sequential exports followed by watch, ${n} through the floor server, ${n} renders`);
    const rounds = (await rotate(settings.rounds, [exports, floorExports, renders])).map(([subject, floorMs, baseline]) => ({ subject: subject!, floorMs: floorMs!, baseline: baseline! }));
    const floorRatios = rounds.map((r) => r.floorMs / r.baseline);
    ctx.log(`e2e-watch: the floor server ${round1(median(rounds.map((r) => r.floorMs)))} ms, ${median(floorRatios).toFixed(2)} of a render (${Math.min(...floorRatios).toFixed(2)}-${Math.max(...floorRatios).toFixed(2)})`);
    return [
      entry({
        name: 'e2e-watch-latency',
        title: 'End-to-end export latency followed by watch (exportPdf: create, watch, download), demo document, one at a time (vs renderPdf alone)',
        unit: 'ms',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '<=', value: 1.15 },
        details: {
          exportsPerRound: n,
          role: 'all',
          follow: 'notepad.exportJobs.watch (SSE)',
          // The same export through bench/servers/floor-export.ts in the same rounds: the
          // ratio no server reaches below here (create, render, durable write, event, download).
          floorMs: round1(median(rounds.map((r) => r.floorMs))),
          floorRatio: Math.round(median(floorRatios) * 100) / 100,
          floorRatioRange: [Math.min(...floorRatios), Math.max(...floorRatios)].map((v) => Math.round(v * 100) / 100),
          overFloor: Math.round(median(rounds.map((r) => r.subject / r.floorMs)) * 100) / 100,
        },
      }),
    ];
  } finally {
    await Promise.all([service.release(), child.release(), floor.stop()]);
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
