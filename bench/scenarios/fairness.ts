/**
 * 7. Fairness between users.
 *
 * fairness-latency: one user's end-to-end latency for the demo document (create, poll,
 * download; one at a time) while another user's flood of large exports is queued, against
 * the same user's latency with nothing queued, in alternating rounds on one service (role
 * all, one render thread for its one core). With fair claims the user waits for one of the flood's renders
 * to end, however long the flood's queue; with oldest-first claims, for all of them.
 *
 * claim-at-scale: claims per second of claiming time from a million queued export jobs,
 * the service's fair claim against the claim statement as it was before (oldest first,
 * bench/claim-baseline.ts), each on its own copy of the same database, in a child process.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../db/index.js';
import { DEMO_CONTENT } from '../../server/seed.js';
import { useTodaysClaimIndexes } from '../claim-baseline.js';
import type { ClaimTiming } from '../claim-child.js';
import { DEMO_TITLE } from '../documents.js';
import { entry, interleave, median, sleep, startWorker, type BenchContext, type Entry } from '../harness.js';
import { seedDatabase, seedOtherUser, seedQueuedExportJobs } from '../seed.js';
import { exportOnce } from './e2e-latency.js';
import { createBody, expectJson, FAIRNESS_RENDER_THREADS, fairnessService, isRunningJob } from './shared.js';

interface JobTimes {
  status: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export async function fairnessScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const service = await fairnessService(ctx, 'fairness-subject');
  const { seed, server, flooder } = service.value;
  const db = new Database(seed.dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    const running = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM export_jobs WHERE status = 'running'`);
    const finishedOf = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM export_jobs WHERE creator_id = ? AND status = 'succeeded'`);
    const timesOf = db.prepare<[string], JobTimes>('SELECT status, created_at AS createdAt, started_at AS startedAt, finished_at AS finishedAt FROM export_jobs WHERE rid = ?');
    // What is left of a flood once the round has measured what it needs: never claimed, so
    // never rendered. Written here, beside the service, as another process could.
    const withdraw = db.prepare(
      `UPDATE export_jobs SET status = 'failed', error_message = 'Withdrawn by the bench.', finished_at = ? WHERE creator_id = ? AND status = 'running' AND lease_owner IS NULL`,
    );
    const drained = async () => {
      while ((running.get()?.n ?? 0) > 0) await sleep(50);
    };
    const createFlood = async (count: number) => {
      const rids: string[] = [];
      for (let i = 0; i < count; i++) {
        const job = (await expectJson(
          `${server.url}/api/v2/notepad/exportJobs/create?preview=true`,
          { method: 'POST', headers: { authorization: `Bearer ${flooder.token}`, 'content-type': 'application/json' }, body: createBody(flooder.documentRid) },
          isRunningJob,
        )) as { rid: string };
        rids.push(job.rid);
      }
      return rids;
    };
    const queuedOf = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM export_jobs WHERE creator_id = ? AND status = 'running' AND lease_owner IS NULL`);
    const waits: Record<'flooded' | 'idle', number[]> = { flooded: [], idle: [] };
    const floodRenderMs: number[] = [];
    /** n sequential exports of the demo document, each after `before`; their median latency. */
    const exports = async (into: number[], before: () => Promise<unknown> = async () => {}) => {
      const ms: number[] = [];
      for (let i = 0; i < settings.e2eExports; i++) {
        await before();
        const run = await exportOnce(service.value);
        ms.push(run.ms);
        const times = timesOf.get(run.rid)!;
        into.push(times.startedAt! - times.createdAt);
      }
      return median(ms);
    };
    const flooded = async () => {
      await drained();
      const finishedBefore = finishedOf.get(flooder.userId)!.n;
      const flood = await createFlood(settings.floodJobs);
      // Start measuring once the flood's renders are under way (the first has ended), and
      // keep the flood's queue full before each export: each one meets the whole flood.
      while (finishedOf.get(flooder.userId)!.n === finishedBefore) await sleep(10);
      const topUp = async () => flood.push(...(await createFlood(settings.floodJobs - queuedOf.get(flooder.userId)!.n)));
      const latency = await exports(waits.flooded, topUp);
      floodRenderMs.push(...flood.map((rid) => timesOf.get(rid)!).filter((t) => t.status === 'succeeded').map((t) => t.finishedAt! - t.startedAt!));
      withdraw.run(Date.now(), flooder.userId);
      await drained();
      return latency;
    };
    const idle = async () => {
      await drained();
      return exports(waits.idle);
    };

    // Warm-up: the render threads' first renders load fonts and compile, on both documents.
    if (settings.warmup) {
      await createFlood(2);
      for (let i = 0; i < 3; i++) await exportOnce(service.value);
      await drained();
    }
    ctx.log(`fairness: ${settings.rounds} rounds of ${settings.e2eExports} exports, flooded by ${settings.floodJobs} exports of ${settings.floodPages} pages, or idle`);
    const rounds = await interleave(settings.rounds, flooded, idle);
    return [
      entry({
        name: 'fairness-latency',
        title: `End-to-end latency of one user's demo export while another's ${settings.floodJobs} ${settings.floodPages}-page exports are queued (vs nothing queued)`,
        unit: 'ms',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '<=', value: 3 },
        details: {
          renderThreads: FAIRNESS_RENDER_THREADS,
          exportsPerRound: settings.e2eExports,
          floodJobs: settings.floodJobs,
          floodPages: settings.floodPages,
          medianFloodRenderMs: median(floodRenderMs),
          medianClaimWaitMs: { flooded: median(waits.flooded), idle: median(waits.idle) },
          maxClaimWaitMs: { flooded: Math.max(...waits.flooded), idle: Math.max(...waits.idle) },
        },
      }),
    ];
  } finally {
    db.close();
    await service.release();
  }
}

const CLAIM_USERS = 10;
/** Live leases kept, as a runner with this many render slots would. */
const IN_FLIGHT = 4;

export async function claimAtScaleScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const dir = join(ctx.workDir, 'claim-at-scale');
  const seed = await seedDatabase(dir, { [DEMO_TITLE]: DEMO_CONTENT });
  const others: string[] = [];
  for (let i = 1; i < CLAIM_USERS; i++) others.push((await seedOtherUser(seed, `Other ${i}`)).userId);
  const start = performance.now();
  seedQueuedExportJobs(seed, seed.documents[DEMO_TITLE]!, settings.queuedJobs, others);
  ctx.log(`claim-at-scale: queued ${settings.queuedJobs.toLocaleString('en-US')} export jobs of ${CLAIM_USERS} users in ${Math.round(performance.now() - start)} ms`);
  const baselinePath = join(dir, 'baseline.db');
  copyFileSync(seed.dbPath, baselinePath);
  const baseline = openDatabase(baselinePath);
  useTodaysClaimIndexes(baseline.sqlite);
  baseline.close();

  const child = startWorker({ name: 'claim-child', script: 'bench/claim-child.ts', pinning: ctx.pinning });
  try {
    await child.request({ op: 'open', subject: seed.dbPath, baseline: baselinePath });
    const claims = (engine: 'subject' | 'baseline', seconds: number) => child.request<ClaimTiming>({ op: 'claims', engine, seconds, inFlight: IN_FLIGHT });
    if (settings.warmup) {
      await claims('subject', settings.warmupSeconds);
      await claims('baseline', settings.warmupSeconds);
    }
    ctx.log(`claim-at-scale: ${settings.rounds} rounds of ${settings.loadSeconds}s each`);
    const rounds = await interleave(
      settings.rounds,
      () => claims('subject', settings.loadSeconds),
      () => claims('baseline', settings.loadSeconds),
    );
    const perClaimUs = (t: ClaimTiming) => Math.round((t.ms * 1000) / t.claims);
    return [
      entry({
        name: 'claim-at-scale',
        title: `Claims per second from ${settings.queuedJobs.toLocaleString('en-US')} queued export jobs of ${CLAIM_USERS} users, fair claim (vs oldest first, as before)`,
        unit: 'claims/s',
        subject: rounds.map((r) => r.subject.claimsPerSecond),
        baseline: rounds.map((r) => r.baseline.claimsPerSecond),
        target: { on: 'ratio', op: '>=', value: 0.8 },
        details: {
          queuedJobs: settings.queuedJobs,
          users: CLAIM_USERS,
          liveLeases: IN_FLIGHT,
          claimsPerRound: rounds.map((r) => [r.subject.claims, r.baseline.claims]),
          microsecondsPerClaim: rounds.map((r) => [perClaimUs(r.subject), perClaimUs(r.baseline)]),
          usersWithQueuedWorkAtEnd: rounds.at(-1)!.subject.users,
        },
      }),
    ];
  } finally {
    await child.stop();
  }
}
