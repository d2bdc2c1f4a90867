/**
 * 5. Isolation: REST create p99 on the whole service (role all, two render threads) while
 * four large exports render, against its p99 with nothing rendering, in alternating rounds.
 *
 * The probe load is open-loop at a fixed, modest rate: it asks whether creates still get
 * answered promptly while rendering, not how many fit beside it. Every probe create is a
 * real job, whose source is a generation job without content: the runner claims it and
 * fails it at once. Probing with a document instead would make the runner render every
 * probe too, and at ~0.1-0.3 s of CPU per tiny render (see bench/README.md) the "idle"
 * rounds would be busier than the loaded ones. Rounds start only once nothing is running.
 */
import Database from 'better-sqlite3';
import { entry, interleave, median, runLoad, sleep, type BenchContext, type Entry, type LoadResult } from '../harness.js';
import { createBody, expectJson, fullService, isRunningJob, RENDER_THREADS, restCreate } from './shared.js';

// Few, so the probe's own bursts do not queue (see LoadOptions.rate).
const PROBE_CONNECTIONS = 2;

interface Loaded extends LoadResult {
  /** Large exports still rendering when the probe window closed (the window was covered if > 0). */
  stillRendering: number;
  /** Creation to completion of each large export, ms. */
  exportMs: number[];
}

export async function isolationScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const service = await fullService(ctx, 'isolation-subject');
  const { seed, server, probeSource } = service.value;
  const db = new Database(seed.dbPath, { readonly: true, fileMustExist: true });
  try {
    // This user's jobs only: the service is shared with the idle-listeners scenario, whose held
    // jobs (another user's) stay running while it measures.
    const running = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM export_jobs WHERE status = 'running' AND creator_id = ?`);
    const jobOf = db.prepare<[string], { status: string; createdAt: number; finishedAt: number | null }>(
      'SELECT status, created_at AS createdAt, finished_at AS finishedAt FROM export_jobs WHERE rid = ?',
    );
    const drained = async () => {
      while ((running.get(seed.userId)?.n ?? 0) > 0) await sleep(100);
    };
    const createExport = async (documentRid: string) => {
      const job = (await expectJson(
        `${server.url}/api/v2/notepad/exportJobs/create?preview=true`,
        { method: 'POST', headers: { authorization: `Bearer ${seed.token}`, 'content-type': 'application/json' }, body: createBody(documentRid) },
        isRunningJob,
      )) as { rid: string };
      return job.rid;
    };
    const probe = (seconds: number) =>
      runLoad({ ...restCreate(server.url, seed.token, probeSource!), connections: PROBE_CONNECTIONS, seconds, rate: settings.isolationRate });

    const idle = async (): Promise<LoadResult> => {
      await drained();
      return probe(settings.loadSeconds);
    };
    const loaded = async (count: number, documentRid: string, seconds: number): Promise<Loaded> => {
      await drained();
      const rids: string[] = [];
      for (let i = 0; i < count; i++) rids.push(await createExport(documentRid));
      const result = await probe(seconds);
      const stillRendering = rids.filter((rid) => jobOf.get(rid)?.status === 'running').length;
      await drained();
      const jobs = rids.map((rid) => jobOf.get(rid));
      const failed = jobs.filter((job) => job?.status !== 'succeeded');
      if (failed.length > 0) throw new Error(`isolation: ${failed.length} large exports did not succeed`);
      return { ...result, stillRendering, exportMs: jobs.map((job) => job!.finishedAt! - job!.createdAt) };
    };

    // Warm-up: start both render threads and warm their JIT on a tenth of the large document.
    if (settings.warmup) {
      await loaded(RENDER_THREADS, seed.documents.warm!, settings.warmupSeconds);
      await probe(settings.warmupSeconds);
    }
    ctx.log(`isolation: ${settings.renderRounds} rounds, ${settings.isolationExports} exports of ${settings.isolationPages} pages, probe ${settings.isolationRate} req/s`);
    const rounds = await interleave<LoadResult | Loaded>(
      settings.renderRounds,
      () => loaded(settings.isolationExports, seed.documents.large!, settings.loadSeconds),
      idle,
    );
    const loadedRounds = rounds.map((r) => r.subject as Loaded);
    return [
      entry({
        name: 'isolation-p99',
        title: `REST create p99 while ${settings.isolationExports} ${settings.isolationPages}-page exports render (vs idle)`,
        unit: 'ms',
        subject: loadedRounds.map((r) => r.p99),
        baseline: rounds.map((r) => r.baseline.p99),
        target: { on: 'ratio', op: '<=', value: 3 },
        details: {
          role: 'all',
          renderThreads: RENDER_THREADS,
          probeRate: settings.isolationRate,
          probeConnections: PROBE_CONNECTIONS,
          seconds: settings.loadSeconds,
          p50: rounds.map((r) => [r.subject.p50, r.baseline.p50]),
          max: rounds.map((r) => [r.subject.max, r.baseline.max]),
          rendersStillRunningAtWindowEnd: loadedRounds.map((r) => r.stillRendering),
          medianLargeExportMs: median(loadedRounds.flatMap((r) => r.exportMs)),
        },
      }),
    ];
  } finally {
    db.close();
    await service.release();
  }
}
