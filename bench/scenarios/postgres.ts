/**
 * The PostgreSQL backend (issue 16), on a throwaway PostgreSQL started for the run by the
 * test backends process (scripts/test-backends/; the one `npm test` starts), or the one a
 * surrounding test run names in the environment (the smoke test).
 *
 * rest-create-pg: REST create throughput and p99 of an API-only service on PostgreSQL
 * against the same service on SQLite, 64 connections, alternating rounds. The API process
 * is pinned to the servers' core as every subject is; PostgreSQL is not pinned, as a
 * database server has cores of its own in a deployment (here it shares the load
 * generator's, and whatever the API leaves of the servers').
 *
 * runners-pg: exports finished per second by two runner processes of one render thread
 * each (NOTEPAD_JOB_CONCURRENCY=1, no express slot) against one such process, each group on
 * its own database. Each runner has a core of its own (taskset), as one runner per core is
 * deployed: the two on cores 0 and 1, the one on core 0 or 1 by turns (rounds alternate, so
 * a slower virtual core weighs on both sides alike). Left free on both cores, two processes
 * of one render thread each spend more CPU per render than pinned ones (their threads, V8's
 * helpers among them, migrate and meet on one core) and measured the scheduler more than the
 * claim path. PostgreSQL is not given a core: it takes from the runners', the two's more
 * than the one's. A round queues exports of the demo document straight into export_jobs,
 * NOTIFYs the runners as a create would, and times until the runners have logged the
 * round's last success. Its details carry a reference for the ratio on the machine it ran
 * on (renderOnlyCeiling): the same renders by two bare render processes against one, placed
 * the same way.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { openPostgres } from '../../db/pg/index.js';
import { exportJobs } from '../../db/pg/schema.js';
import { backendsFromEnv, startBackendsProcess, type TestBackends } from '../../scripts/test-backends/protocol.js';
import { SCOPES } from '../../server/contract/api.js';
import { newRid } from '../../server/contract/rids.js';
import { createDeps } from '../../server/deps.js';
import { EXPORT_JOB_CHANGES_CHANNEL, JOBS_CHANNEL } from '../../server/jobs/pg-wakeups.js';
import { DEMO_CONTENT } from '../../server/seed.js';
import * as admin from '../../server/services/admin.js';
import { openPgBackend } from '../../server/stores/pg/index.js';
import { DEMO_TITLE } from '../documents.js';
import { cpuSpent, entry, interleave, median, pinProcess, readCpu, runLoad, sleep, startServer, startWorker, type BenchContext, type Entry, type Lease, type ServerHandle } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import type { Seed } from '../seed.js';
import { RENDER_NICENESS } from '../../server/render/pool.js';
import { apiService, checkAndWarm, RENDER_WORKER_NODE_ARGS, restCreate, startNotepad } from './shared.js';

interface Postgres {
  backends: TestBackends;
  stop(): Promise<void>;
}

function postgres(ctx: BenchContext): Promise<Lease<Postgres>> {
  return ctx.processes.acquire('postgres', async () => {
    const fromEnv = backendsFromEnv(process.env);
    if (fromEnv) return { backends: fromEnv, stop: async () => {} };
    // Started by this process, which the bench pins to the load generator's core: the
    // cluster would inherit that affinity, so it gets every core back.
    const running = await startBackendsProcess();
    if (running.backends.owner) unpin(running.backends.owner.postgresPid);
    return { backends: running.backends, stop: () => running.stop() };
  });
}

/** Every core for a PostgreSQL cluster: its postmaster (whose later backends inherit it) and the processes it has started. */
function unpin(postmasterPid: number): void {
  let children: string[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(postmasterPid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const all = `0-${cpus().length - 1}`;
    for (const pid of [String(postmasterPid), ...children]) execFileSync('taskset', ['-a', '-p', '-c', all, pid], { stdio: 'ignore' });
  } catch {
    // No pgrep or taskset: then the bench pinned nothing either.
  }
}

/** A fresh database on the cluster, migrated and seeded as the CLI would (a user, an export token, the demo document). */
async function seedPostgres(ctx: BenchContext, backends: TestBackends, name: string): Promise<Seed & { drop(): Promise<void> }> {
  const adminUrl = new URL(backends.postgresUrl);
  const database = `bench_${randomUUID().replaceAll('-', '')}`;
  const client = new pg.Client({ connectionString: adminUrl.href });
  await client.connect();
  await client.query(`create database ${database}`).finally(() => client.end());
  const url = new URL(adminUrl.href);
  url.pathname = `/${database}`;
  const backend = await openPgBackend(url.href, { pool: 2 });
  try {
    const deps = createDeps({ stores: backend.stores });
    const { userId } = await admin.createUser(deps, { name: 'Bench User' });
    const { token } = await admin.createToken(deps, { userId, scopes: [SCOPES.export] });
    const { documentRid } = await admin.createDocument(deps, { title: DEMO_TITLE, content: DEMO_CONTENT, ownerId: userId });
    return {
      dbPath: url.href,
      filesDir: join(ctx.workDir, name, 'files'),
      userId,
      token,
      documents: { [DEMO_TITLE]: documentRid },
      async drop() {
        const dropper = new pg.Client({ connectionString: adminUrl.href });
        await dropper.connect();
        await dropper.query(`drop database if exists ${database} with (force)`).finally(() => dropper.end());
      },
    };
  } finally {
    await backend.close();
  }
}

/** Bytes of WAL the cluster has written since `from` (an LSN), and the LSN now: what a stretch of work wrote. */
async function walSince(client: pg.Pool, from?: string): Promise<{ lsn: string; bytes: number }> {
  const { rows } = await client.query<{ lsn: string; bytes: string | null }>('select pg_current_wal_lsn()::text as lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text as bytes', [from ?? '0/0']);
  return { lsn: rows[0]!.lsn, bytes: Number(rows[0]!.bytes ?? 0) };
}

export async function restCreatePgScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const cluster = await postgres(ctx);
  const seed = await seedPostgres(ctx, cluster.value.backends, 'rest-create-pg');
  const baseline = await apiService(ctx, 'rest-create-pg-baseline');
  let subject: ServerHandle | undefined;
  try {
    subject = await startNotepad(ctx, 'rest-create-pg', seed, 'api');
    const load = { connections: settings.connections, seconds: settings.loadSeconds };
    const subjectLoad = { ...restCreate(subject.url, seed.token, seed.documents[DEMO_TITLE]!), ...load };
    const { seed: baseSeed, server, documentRid } = baseline.value;
    const baselineLoad = { ...restCreate(server.url, baseSeed.token, documentRid), ...load };
    await checkAndWarm(ctx, subjectLoad);
    await checkAndWarm(ctx, baselineLoad);
    ctx.log(`rest-create-pg: ${settings.rounds} rounds of ${settings.loadSeconds}s at ${settings.connections} connections`);
    const wal = new pg.Pool({ connectionString: seed.dbPath, max: 1 });
    const walPerCreate: number[] = [];
    const cpuPerCreate: Array<{ apiMs: number; postgresMs: number }> = [];
    const rounds = await interleave(
      settings.rounds,
      async () => {
        const before = await walSince(wal);
        const apiBefore = readCpu(subject!.pid);
        const postgresBefore = postgresCpuMs();
        const result = await runLoad(subjectLoad);
        const creates = Math.max(1, result.ok);
        walPerCreate.push((await walSince(wal, before.lsn)).bytes / creates);
        cpuPerCreate.push({ apiMs: (cpuSpent(apiBefore, readCpu(subject!.pid))?.totalMs ?? NaN) / creates, postgresMs: (postgresCpuMs() - postgresBefore) / creates });
        return result;
      },
      () => runLoad(baselineLoad),
    );
    await wal.end();
    const details = {
      connections: settings.connections,
      seconds: settings.loadSeconds,
      role: 'api',
      pool: 10,
      requests: rounds.map((r) => [r.subject.ok, r.baseline.ok]),
      // What one create writes to PostgreSQL's log (the row, its indexes, the usage row), for docs/SCALING.md.
      walBytesPerCreate: Math.round(median(walPerCreate)),
      // CPU per create of the API process and of every PostgreSQL process (Linux), for docs/SCALING.md.
      apiCpuMsPerCreate: Math.round(median(cpuPerCreate.map((c) => c.apiMs)) * 1000) / 1000,
      postgresCpuMsPerCreate: Math.round(median(cpuPerCreate.map((c) => c.postgresMs)) * 1000) / 1000,
    };
    return [
      entry({
        name: 'rest-create-pg-throughput',
        title: `REST create throughput on PostgreSQL, ${settings.connections} connections (vs the same service on SQLite)`,
        unit: 'req/s',
        subject: rounds.map((r) => r.subject.rps),
        baseline: rounds.map((r) => r.baseline.rps),
        target: { on: 'ratio', op: '>=', value: 0.5 },
        details,
      }),
      entry({
        name: 'rest-create-pg-p99',
        title: `REST create p99 latency on PostgreSQL, ${settings.connections} connections (vs the same service on SQLite)`,
        unit: 'ms',
        subject: rounds.map((r) => r.subject.p99),
        baseline: rounds.map((r) => r.baseline.p99),
        target: { on: 'ratio', op: '<=', value: 2 },
        details: { ...details, p50: rounds.map((r) => [r.subject.p50, r.baseline.p50]) },
      }),
    ];
  } finally {
    await subject?.stop();
    await baseline.release();
    await seed.drop();
    await cluster.release();
  }
}

/** CPU time of every PostgreSQL process on the machine so far, in ms (Linux: /proc/<pid>/stat, 100 ticks a second). */
function postgresCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we read.
    }
  }
  return ticks * 10;
}

/**
 * The core of the lone runner (or bare render process) in a round: 0, 1, 1, 0, ... The
 * interleaved rounds run the baseline second, then first, so over four rounds each core
 * hosts it once in each order.
 */
const loneTurn = (round: number): number => (round + (round >> 1)) % 2;

/** The core of the i-th runner (or bare render process): one each, when the bench pins processes at all. */
function runnerCore(ctx: BenchContext, i: number): string | undefined {
  return ctx.pinning ? String(i % cpus().length) : undefined;
}

/** Runner processes on one seeded database, and how to queue exports for them and wait until they are done. */
async function runnerGroup(ctx: BenchContext, backends: TestBackends, name: string, runners: number) {
  const seed = await seedPostgres(ctx, backends, name);
  const database = await openPostgres(seed.dbPath, { poolSize: 2 });
  const processes: ServerHandle[] = [];
  /** The runners' own timings of each export they finished (the 'export job succeeded' records). */
  const timings: Array<{ renderMs: number; storeMs: number; queuedMs: number }> = [];
  /** Success lines seen so far, and who waits for the next one (round). */
  let succeeded = 0;
  let onSucceeded: (() => void) | undefined;
  const onLine = (line: string) => {
    if (!line.includes('"export job succeeded"')) return;
    const record = JSON.parse(line) as { renderMs: number; storeMs: number; queuedMs: number };
    timings.push({ renderMs: record.renderMs, storeMs: record.storeMs, queuedMs: record.queuedMs });
    succeeded++;
    onSucceeded?.();
  };
  const stop = async () => {
    await Promise.all(processes.map((runner) => runner.stop()));
    await database.close();
    await seed.drop();
  };
  try {
    for (let i = 0; i < runners; i++) {
      processes.push(
        await startServer({
          name: `${name}-${i}`,
          script: 'server/main.ts',
          ready: 'log',
          readyMessage: 'notepad-export started',
          timeoutMs: ctx.settings.startTimeoutMs,
          onLine,
          cpuProfDir: ctx.profileDir ? join(ctx.profileDir, `${name}-${i}`) : undefined,
          // A core of its own; not this process's (the load generator's) one when unpinned.
          allCores: ctx.pinning !== undefined,
          cores: runnerCore(ctx, i),
          env: {
            NOTEPAD_DB: seed.dbPath,
            NOTEPAD_FILES: seed.filesDir,
            NOTEPAD_ROLE: 'runner',
            NOTEPAD_JOB_CONCURRENCY: '1',
            NOTEPAD_EXPRESS_SLOTS: '0',
            // The started line is the readiness signal; per-job lines are info too, a cost both sides pay alike.
            LOG_LEVEL: 'info',
          },
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const { db } = database;
  const documentRid = seed.documents[DEMO_TITLE]!;
  /** WAL bytes per export of each round (its insert, claim, progress, commit and file row; no sweep). */
  const walPerExport: number[] = [];
  /** CPU per export of each round: the runner processes (all threads, and their event loops) and every PostgreSQL process. */
  const cpuPerExport: Array<{ runnerMs: number; runnerMainMs: number; postgresMs: number }> = [];
  /** Queues `exports` exports and answers how many finished per second (all must succeed). */
  async function round(exports: number): Promise<number> {
    const now = Date.now();
    const rows = Array.from({ length: exports }, (_, i) => ({
      rid: newRid('export-job'),
      creatorId: seed.userId,
      sourceType: 'documentSource' as const,
      documentRid,
      userLocale: 'en-US',
      userTimezone: 'UTC',
      status: 'running' as const,
      createdAt: now + i,
      expiresAt: now + 86_400_000,
    }));
    const wal = await walSince(database.pool);
    const cpuBefore = processes.map((runner) => readCpu(runner.pid));
    const postgresBefore = postgresCpuMs();
    const running = async () => (await db.select({ n: count() }).from(exportJobs).where(eq(exportJobs.status, 'running')))[0]!.n;
    const target = succeeded + exports;
    const start = performance.now();
    await db.transaction(async (tx) => {
      await tx.insert(exportJobs).values(rows);
      await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, 'export')`);
    });
    // The round ends at the runners' last success line (logged after its commit), so nothing
    // queries the database while they work: a poll every 10 ms took PostgreSQL CPU and this
    // process's core from the runners. A slow poll ends a round whose jobs failed instead.
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      // Once only: a poll still in flight when the round ended must not touch the next round's listener.
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        onSucceeded = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const poll = setInterval(() => {
        running().then((n) => n === 0 && settle(), (error: unknown) => settle(error ?? new Error('the poll failed')));
      }, 250);
      onSucceeded = () => succeeded >= target && settle();
      onSucceeded();
    });
    const seconds = (performance.now() - start) / 1000;
    while ((await running()) > 0) await sleep(10);
    const [failed] = await db.select({ n: count() }).from(exportJobs).where(eq(exportJobs.status, 'failed'));
    if (failed!.n > 0) throw new Error(`${name}: ${failed!.n} exports failed`);
    walPerExport.push((await walSince(database.pool, wal.lsn)).bytes / exports);
    const spent = processes.map((runner, i) => cpuSpent(cpuBefore[i], readCpu(runner.pid)));
    cpuPerExport.push({
      runnerMs: spent.reduce((sum, cpu) => sum + (cpu?.totalMs ?? NaN), 0) / exports,
      runnerMainMs: spent.reduce((sum, cpu) => sum + (cpu?.mainMs ?? NaN), 0) / exports,
      postgresMs: (postgresCpuMs() - postgresBefore) / exports,
    });
    return exports / seconds;
  }
  /** Medians of the runners' render and store times since the last call. */
  function takeTimings() {
    const taken = timings.splice(0);
    const wal = walPerExport.splice(0);
    const cpu = cpuPerExport.splice(0);
    const ms = (values: number[]) => Math.round(median(values) * 10) / 10;
    return {
      renderMs: median(taken.map((t) => t.renderMs)),
      storeMs: median(taken.map((t) => t.storeMs)),
      walBytesPerExport: Math.round(median(wal)),
      runnerCpuMsPerExport: ms(cpu.map((c) => c.runnerMs)),
      runnerEventLoopCpuMsPerExport: ms(cpu.map((c) => c.runnerMainMs)),
      postgresCpuMsPerExport: ms(cpu.map((c) => c.postgresMs)),
    };
  }
  /** Moves the group's processes, every thread, to the core `runnerCore` gives the `turn`-th (when pinned). */
  function pinTo(turn: number): void {
    const core = runnerCore(ctx, turn);
    if (core !== undefined) for (const runner of processes) pinProcess(runner.pid, core);
  }
  return { round, stop, takeTimings, pinTo };
}

/**
 * A reference for runners-pg's ratio on this machine: renders of the demo document per second
 * by two processes that do nothing else (bench/render-child.ts, placed like the runners: any
 * core, the render threads' niceness and heap limits) against one. No claim, no database, no
 * file: what two cores give two renderers here, which a shared or uneven pair of virtual
 * cores can keep well below 2. Not a strict bound: a runner renders in a worker thread, and
 * while one waits for the database the other renders with the machine to itself. Measured
 * after the runners' rounds, their processes idle.
 */
async function renderOnlyCeiling(ctx: BenchContext, rendersPerProcess: number, rounds: number) {
  const children = [0, 1].map((i) =>
    startWorker({
      name: `runners-pg-ceiling-${i}`,
      script: 'bench/render-child.ts',
      allCores: ctx.pinning !== undefined,
      cores: runnerCore(ctx, i),
      extraNodeArgs: RENDER_WORKER_NODE_ARGS,
      niceness: RENDER_NICENESS.bulk,
    }),
  );
  try {
    const renders = async (child: (typeof children)[number]) => {
      for (let i = 0; i < rendersPerProcess; i++) await child.request<RenderTiming>({ op: 'renderDemo' });
    };
    const perSecond = async (processes: typeof children) => {
      const start = performance.now();
      await Promise.all(processes.map(renders));
      return (processes.length * rendersPerProcess * 1000) / (performance.now() - start);
    };
    if (ctx.settings.warmup) await perSecond(children);
    // The one process on core 0 or 1 by turns, as the lone runner.
    const measured = await interleave(rounds, () => perSecond(children), (round) => perSecond(children.slice(loneTurn(round), loneTurn(round) + 1)));
    const round1 = (value: number) => Math.round(value * 10) / 10;
    return {
      rendersPerSecondTwoProcesses: round1(median(measured.map((r) => r.subject))),
      rendersPerSecondOneProcess: round1(median(measured.map((r) => r.baseline))),
      ratio: Math.round(median(measured.map((r) => r.subject / r.baseline)) * 100) / 100,
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

export async function runnersPgScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const exports = settings.runnerExports;
  // An even number (but in the one-round smoke run), so the lone runner spends as many rounds on each core (loneTurn).
  const roundCount = settings.renderRounds > 1 ? settings.renderRounds + (settings.renderRounds % 2) : 1;
  const cluster = await postgres(ctx);
  const groups: Array<Awaited<ReturnType<typeof runnerGroup>>> = [];
  try {
    const two = await runnerGroup(ctx, cluster.value.backends, 'runners-pg-two', 2);
    groups.push(two);
    const one = await runnerGroup(ctx, cluster.value.backends, 'runners-pg-one', 1);
    groups.push(one);
    // Every runner process warmed alike (settings.warmupExports each): the first rounds of a
    // pair, each runner rendering half of them, would otherwise be colder than the lone one's.
    if (settings.warmup) {
      await two.round(2 * settings.warmupExports);
      await one.round(settings.warmupExports);
    }
    ctx.log(`runners-pg: ${roundCount} rounds of ${exports} exports of the demo document`);
    two.takeTimings();
    one.takeTimings();
    const rounds = await interleave(
      roundCount,
      () => two.round(exports),
      (round) => {
        one.pinTo(loneTurn(round));
        return one.round(exports);
      },
    );
    const twoTimings = two.takeTimings();
    const oneTimings = one.takeTimings();
    ctx.log('runners-pg: the same renders by two bare render processes against one (the ceiling)');
    const ceiling = await renderOnlyCeiling(ctx, Math.max(1, Math.round(exports / 2)), roundCount);
    return [
      entry({
        name: 'runners-pg-throughput',
        title: `Exports finished per second on PostgreSQL by two runner processes of one render thread each${ctx.pinning ? ', a core each' : ''} (vs one), ${exports} small exports a round`,
        unit: 'exports/s',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '>=', value: 1.7 },
        // Per export, as the runners measured it: a claim path costing little leaves the rate near 1000 / renderMs per runner.
        // renderOnlyCeiling: the ratio two processes that only render get here, a reference for the runners'.
        details: { exports, runnerThreads: 1, expressSlots: 0, twoRunners: twoTimings, oneRunner: oneTimings, renderOnlyCeiling: ceiling },
      }),
    ];
  } finally {
    await Promise.all(groups.map((group) => group.stop()));
    await cluster.release();
  }
}

/** Clients committing at once in notify-commits: a busy cluster's runners and API nodes. */
const NOTIFY_CLIENTS = 16;

/**
 * notify-commits: commits per second of changes of export jobs on a durable cluster (fsync
 * and synchronous commit on, as in a deployment; a cluster of its own, since the shared one
 * runs without them), NOTIFY_CLIENTS clients each changing one job of its own as a claim or
 * an outcome does (the version moves on, so migrations-pg/0006's trigger runs). Subject: jobs
 * nobody follows, which commit without a NOTIFY. Baseline: jobs an API node follows (a row
 * in export_job_watches each, a session LISTENing), which NOTIFY as every change did before:
 * a NOTIFY holds PostgreSQL's notify lock until after the commit's WAL flush, so those
 * commits take turns however many clients there are.
 */
export async function notifyCommitsScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const running = await startBackendsProcess(undefined, { durable: true });
  const cleanup: Array<() => Promise<unknown>> = [() => running.stop()];
  try {
    if (running.backends.owner) unpin(running.backends.owner.postgresPid);
    const seed = await seedPostgres(ctx, running.backends, 'notify-commits');
    cleanup.unshift(() => seed.drop());
    const pool = new pg.Pool({ connectionString: seed.dbPath, max: NOTIFY_CLIENTS });
    cleanup.unshift(() => pool.end());
    const jobsOf = () => Array.from({ length: NOTIFY_CLIENTS }, () => newRid('export-job'));
    const unfollowed = jobsOf();
    const followed = jobsOf();
    const now = Date.now();
    await pool.query(
      `insert into export_jobs (rid, creator_id, source_type, document_rid, user_locale, user_timezone, status, created_at, expires_at)
       select rid, $2, 'documentSource', $3, 'en-US', 'UTC', 'running', $4::bigint, $5::bigint from unnest($1::text[]) as rid`,
      [[...unfollowed, ...followed], seed.userId, seed.documents[DEMO_TITLE], now, now + 86_400_000],
    );
    await pool.query(`insert into export_job_watches (rid, node, expires_at) select rid, 'bench-api-node', $2::bigint from unnest($1::text[]) as rid`, [followed, now + 86_400_000]);
    // The API node's listener: what it hears says which commits notified.
    const listener = new pg.Client({ connectionString: seed.dbPath });
    await listener.connect();
    cleanup.unshift(() => listener.end());
    const heard = { followed: 0, unfollowed: 0 };
    const followedSet = new Set(followed);
    listener.on('notification', (message) => (followedSet.has(message.payload?.split(':')[0] ?? '') ? heard.followed++ : heard.unfollowed++));
    await listener.query(`LISTEN ${EXPORT_JOB_CHANGES_CHANNEL}`);

    /** Each client changes its own job (no row lock shared) as fast as commits return; commits per second. */
    const commitsPerSecond = async (rids: readonly string[]) => {
      let commits = 0;
      const start = performance.now();
      const end = start + settings.loadSeconds * 1000;
      await Promise.all(
        rids.map(async (rid) => {
          const client = await pool.connect();
          try {
            while (performance.now() < end) {
              await client.query({ name: 'notify-commits-change', text: 'update export_jobs set version = version + 1 where rid = $1', values: [rid] });
              commits++;
            }
          } finally {
            client.release();
          }
        }),
      );
      return commits / ((performance.now() - start) / 1000);
    };
    if (settings.warmup) {
      await commitsPerSecond(unfollowed);
      await commitsPerSecond(followed);
    }
    const rounds = await interleave(settings.rounds, () => commitsPerSecond(unfollowed), () => commitsPerSecond(followed));
    // Every notification the last followed commit sent has arrived once a query of the listener's returns.
    await listener.query('select 1');
    if (heard.unfollowed > 0 || heard.followed === 0) throw new Error(`notify-commits: heard ${heard.unfollowed} notifications of unfollowed jobs and ${heard.followed} of followed ones`);
    return [
      entry({
        name: 'notify-commits',
        title: `Job-change commits per second on a durable PostgreSQL cluster, ${NOTIFY_CLIENTS} clients: jobs nobody follows (no NOTIFY) vs jobs an API node follows (a NOTIFY each)`,
        unit: 'commits/s',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '>=', value: 1.5 },
        details: { clients: NOTIFY_CLIENTS, notificationsHeard: heard.followed },
      }),
    ];
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }
}
