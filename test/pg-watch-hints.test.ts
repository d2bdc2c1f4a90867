/**
 * Watchers on an API node hear of changes made by another node's runner as they commit
 * (PostgreSQL: a NOTIFY per change of a job some node follows, migrations-pg/0006), not at
 * their next poll. The poll is set to ten minutes here, so a snapshot within the test's time
 * can only have come from the hint; and hints of versions the watcher has already read cost
 * no read. A job nobody follows changes without a NOTIFY.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_JOB_CHANGES_CHANNEL } from '../server/jobs/pg-wakeups.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createExportJobWatchers, type ExportJobSnapshot } from '../server/services/export-job-watchers.js';
import * as admin from '../server/services/admin.js';
import { createJobEvents } from '../server/job-events.js';
import type { Backend, ExportJobChangeHints } from '../server/stores/index.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { createExportJobWatchRegistry } from '../server/stores/pg/export-job-watches.js';
import { openPostgres } from '../db/pg/index.js';
import { freshPostgresDatabase } from './backends.js';
import { SCOPES } from '../server/contract/api.js';
import { DEMO_CONTENT } from '../server/seed.js';
import { pino } from 'pino';

const TEN_MINUTES = 600_000;
let url: string;
let drop: () => Promise<void>;
let apiNode: Backend;
let runnerNode: Backend;
let api: Deps;
let look: pg.Pool;
let watcherReads = 0;

beforeAll(async () => {
  ({ url, drop } = await freshPostgresDatabase());
  apiNode = await openPgBackend(url, { pool: 2 });
  runnerNode = await openPgBackend(url, { pool: 2 });
  // The watchers' reads, counted: the test claims only after the reads it knows of are done,
  // so a later snapshot can only come from a read a hint asked for.
  const stores = apiNode.stores;
  const exports = { ...stores.exports, changes: async (rids: readonly string[], now: number) => stores.exports.changes(rids, now).finally(() => watcherReads++) };
  api = createDeps({ stores: { ...stores, exports }, config: { events: { pollMs: TEN_MINUTES } }, exportJobChangeHints: apiNode.coordination!.listenForExportJobChanges });
  look = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(async () => {
  await api.watchers.close();
  await look.end();
  await Promise.all([apiNode.close(), runnerNode.close()]);
  await drop();
});

async function newJob(): Promise<{ rid: string; creatorId: string }> {
  const { userId } = await admin.createUser(api, { name: 'Ada' });
  await admin.createToken(api, { userId, scopes: [SCOPES.export] });
  const { documentRid } = await admin.createDocument(api, { title: `Doc ${Math.random()}`, content: DEMO_CONTENT, ownerId: userId });
  const rid = `ri.notepad.main.export-job.${crypto.randomUUID()}`;
  const now = Date.now();
  await apiNode.stores.exports.create({ userId, source: { type: 'documentSource', documentRid }, now }, () => ({
    answer: rid,
    write: { job: { rid, creatorId: userId, source: { type: 'documentSource', documentRid }, userLocale: 'en-US', userTimezone: 'America/New_York', createdAt: now, expiresAt: now + TEN_MINUTES } },
  }));
  return { rid, creatorId: userId };
}

/** How many nodes follow job `rid` (rows in export_job_watches). */
async function followers(rid: string): Promise<number> {
  return Number((await look.query<{ n: string }>('select count(*) as n from export_job_watches where rid = $1', [rid])).rows[0]!.n);
}

/** Changes job `rid` as a claim or an outcome does: its version moves on (the change trigger runs). */
function change(rid: string) {
  return look.query('update export_jobs set version = version + 1 where rid = $1', [rid]);
}

/** Sessions of this database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  return (await look.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")).rows[0]!.n;
}

/** Resolves once a session of this database LISTENs on the changes channel (the watchers' connection is up). */
async function listening(): Promise<void> {
  for (;;) {
    const { rows } = await look.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = current_database() and query = $1', [
      `LISTEN ${EXPORT_JOB_CHANGES_CHANNEL}`,
    ]);
    if (Number(rows[0]!.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('watchers on PostgreSQL', () => {
  it('see a job another process claims and fails when each change commits, with a poll of ten minutes', async () => {
    const { rid } = await newJob();
    const snapshots: ExportJobSnapshot[] = [];
    let ended = false;
    const stop = api.watchers.watch(rid, -1, { onSnapshot: (s) => snapshots.push(s), onEnd: () => (ended = true) });
    try {
      await expect.poll(() => snapshots.length).toBe(1);
      expect(snapshots[0]!.job.status.type).toBe('running');
      await listening();
      // Three reads, and no more until a hint: the watch's first, the one after the listener
      // connected, and the one once the job is followed (its row committed: changes NOTIFY).
      await expect.poll(() => watcherReads).toBe(3);
      expect(await followers(rid)).toBe(1);

      // The runner node claims it: the watchers of the API node are told by the database alone.
      const owner = 'runner-on-another-node';
      const claimed = await runnerNode.stores.jobs.claimNext('export', { owner, now: Date.now(), leaseMs: TEN_MINUTES });
      expect(claimed?.rid).toBe(rid);
      await expect.poll(() => snapshots.length, { timeout: 10_000 }).toBe(2);
      expect(snapshots[1]!.job.progress).toMatchObject({ stage: 'rendering' });
      expect(watcherReads).toBe(4);

      const attempt = { rid, owner, attempt: claimed!.attempts };
      expect(await runnerNode.stores.jobs.failExport(attempt, Date.now(), { errorCode: 'INTERNAL', message: 'The render failed.', errorInstanceId: 'instance-1' })).toBe(true);
      await expect.poll(() => snapshots.length, { timeout: 10_000 }).toBe(3);
      expect(snapshots[2]).toMatchObject({ ended: true, job: { status: { type: 'failed', errorMessage: 'The render failed.' } } });
      expect(ended).toBe(false);
    } finally {
      stop();
    }
    // Its last listener gone, the node follows it no more.
    await expect.poll(() => followers(rid)).toBe(0);
  });

  it('NOTIFY a change only of a job some node follows: not of one nobody does, nor of one only a dead node did', async () => {
    const unfollowed = await newJob();
    const deadNodes = await newJob();
    const followed = await newJob();
    // A node that died following it: its row expired (by the database's clock) and nobody renewed it.
    await look.query(`insert into export_job_watches (rid, node, expires_at) values ($1, 'node-dead', 1)`, [deadNodes.rid]);
    const stop = api.watchers.watch(followed.rid, -1, { onSnapshot: () => {}, onEnd: () => {} });
    const listener = new pg.Client({ connectionString: url });
    try {
      await expect.poll(() => followers(followed.rid)).toBe(1);
      await listener.connect();
      const heard: string[] = [];
      listener.on('notification', (message) => heard.push(message.payload!.split(':')[0]!));
      await listener.query(`LISTEN ${EXPORT_JOB_CHANGES_CHANNEL}`);
      // The others' changes first: a listener gets notifications in commit order, so once the
      // followed job's has come, theirs would have come before it.
      await change(unfollowed.rid);
      await change(deadNodes.rid);
      await change(followed.rid);
      await expect.poll(() => heard).toEqual([followed.rid]);

      stop();
      await expect.poll(() => followers(followed.rid)).toBe(0);
      const other = await newJob();
      const stopOther = api.watchers.watch(other.rid, -1, { onSnapshot: () => {}, onEnd: () => {} });
      try {
        await expect.poll(() => followers(other.rid)).toBe(1);
        await change(followed.rid);
        await change(other.rid);
        await expect.poll(() => heard).toEqual([followed.rid, other.rid]);
      } finally {
        stopOther();
      }
    } finally {
      stop();
      await look.query(`delete from export_job_watches where node = 'node-dead'`);
      await listener.end();
    }
  });

  it('miss no change that commits while a job starts to be followed: the follow waits for a change already writing the job', async () => {
    const { rid } = await newJob();
    const versions: number[] = [];
    // A writer of the job mid-transaction: its row written (the trigger found no follower) but not committed.
    const writer = await look.connect();
    let stop: (() => void) | undefined;
    try {
      await writer.query('begin');
      await writer.query('update export_jobs set version = version + 1 where rid = $1', [rid]);
      stop = api.watchers.watch(rid, -1, { onSnapshot: (s) => versions.push(s.version), onEnd: () => {} });
      await expect.poll(() => versions).toEqual([0]);
      // The follow waits for the writer's row lock, so it cannot commit (nor the watcher read
      // after it) before the change does.
      await expect.poll(() => lockWaiters(), { timeout: 5_000 }).toBe(1);
      expect(await followers(rid)).toBe(0);
      await writer.query('commit');
      // With the poll at ten minutes, only the read after the follow can see version 1.
      await expect.poll(() => versions, { timeout: 10_000 }).toEqual([0, 1]);
    } finally {
      await writer.query('rollback').catch(() => {});
      writer.release();
      stop?.();
    }
  });
});

describe('the rows of followed jobs (export_job_watches)', () => {
  const rowsOf = async (node: string) =>
    (await look.query<{ rid: string; expires_at: string }>('select rid, expires_at from export_job_watches where node = $1 order by rid', [node])).rows.map((row) => ({
      rid: row.rid,
      expiresAt: Number(row.expires_at),
    }));
  /** The database's clock, in epoch ms: what the rows' expiries are set and compared by. */
  const databaseNow = async () => Number((await look.query<{ ms: string }>('select (extract(epoch from statement_timestamp()) * 1000)::bigint as ms')).rows[0]!.ms);

  it('are written in one statement per burst, renewed, rewritten if lost, and deleted on unfollow and close; a dead node\'s expire', async () => {
    const errors: Error[] = [];
    const database = await openPostgres(url, { poolSize: 1 });
    const statements: string[] = [];
    const query = database.db.$client.query.bind(database.db.$client);
    database.db.$client.query = ((...args: Parameters<typeof query>) => {
      const [config] = args as unknown as [{ text?: string } | string];
      statements.push(typeof config === 'string' ? config : (config.text ?? ''));
      return query(...args);
    }) as typeof query;
    const registry = createExportJobWatchRegistry(database.db, { node: 'node-a', ttlMs: 300, onError: (error) => errors.push(error) });
    try {
      const before = await databaseNow();
      await Promise.all(['job-1', 'job-2', 'job-3'].map((rid) => registry.follow(rid)));
      // One change of the set for the three (a renewal, every 100 ms, may run besides).
      expect(statements.filter((text) => text.includes('insert into export_job_watches') && !text.includes('skip locked'))).toHaveLength(1);
      const after = await databaseNow();
      const first = await rowsOf('node-a');
      expect(first.map((row) => row.rid)).toEqual(['job-1', 'job-2', 'job-3']);
      for (const row of first) {
        expect(row.expiresAt).toBeGreaterThanOrEqual(before + 300);
        expect(row.expiresAt).toBeLessThanOrEqual(after + 300);
      }
      registry.unfollow('job-2');
      await expect.poll(() => rowsOf('node-a').then((rows) => rows.map((row) => row.rid))).toEqual(['job-1', 'job-3']);

      // A dead node's row past its expiry, a live node's not; a row of ours lost (deleted by hand).
      await look.query(`insert into export_job_watches (rid, node, expires_at) values ('job-1', 'node-dead', 1), ('job-1', 'node-alive', $1)`, [after + 600_000]);
      await look.query(`delete from export_job_watches where node = 'node-a' and rid = 'job-3'`);
      // The renewal (every ttl / 3 = 100 ms): ours rewritten and renewed, the dead node's row deleted.
      await expect.poll(() => rowsOf('node-a').then((rows) => rows.map((row) => row.rid)), { timeout: 5_000 }).toEqual(['job-1', 'job-3']);
      await expect.poll(async () => (await rowsOf('node-a')).every((row) => row.expiresAt > first[0]!.expiresAt)).toBe(true);
      await expect.poll(() => rowsOf('node-dead')).toEqual([]);
      expect(await rowsOf('node-alive')).toEqual([{ rid: 'job-1', expiresAt: after + 600_000 }]);
    } finally {
      await registry.close();
      await database.close();
      await look.query(`delete from export_job_watches where node = 'node-alive'`);
    }
    expect(await rowsOf('node-a')).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('watchers and change hints', () => {
  /** Watchers over a source that counts its reads, with hints the test sends by hand. */
  function harness() {
    let version = 0;
    const reads: string[][] = [];
    let send: Parameters<ExportJobChangeHints>[0] = () => {};
    let opened = 0;
    let closed = 0;
    /** Follows asked for, each done when the test says; unfollows. */
    const follows: Array<{ rid: string; done: () => void }> = [];
    const unfollows: string[] = [];
    const watchers = createExportJobWatchers({
      source: {
        read: async (rids) => {
          reads.push([...rids]);
          return rids.map((rid) => ({ rid, status: 'running' as const, fileRid: null, errorMessage: null, errorCode: null, errorInstanceId: null, progressStage: null, pagesRendered: 0, version }));
        },
      },
      jobEvents: createJobEvents(pino({ level: 'silent' })),
      now: Date.now,
      pollMs: TEN_MINUTES,
      log: pino({ level: 'silent' }),
      hints: (onChange) => {
        opened++;
        send = onChange;
        return {
          follow: (rid) => new Promise<void>((resolve) => follows.push({ rid, done: resolve })),
          unfollow: (rid) => void unfollows.push(rid),
          close: async () => void closed++,
        };
      },
    });
    return {
      watchers,
      reads,
      follows,
      unfollows,
      hint: (change: Parameters<typeof send>[0]) => send(change),
      setVersion: (v: number) => (version = v),
      counts: () => ({ opened, closed }),
    };
  }

  it('read a job when a hint names a version newer than the one seen, and only then; after a reconnect, every watched job', async () => {
    const h = harness();
    const seen: number[] = [];
    h.watchers.watch('job-a', -1, { onSnapshot: (s) => seen.push(s.version), onEnd: () => {} });
    h.watchers.watch('job-b', -1, { onSnapshot: () => {}, onEnd: () => {} });
    await expect.poll(() => h.reads.length).toBe(2);
    expect(h.counts()).toEqual({ opened: 1, closed: 0 });

    h.hint({ rid: 'job-a', version: 0 }); // already read: nothing to do
    h.hint({ rid: 'job-unwatched', version: 3 }); // nobody here follows it
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.reads.length).toBe(2);

    h.setVersion(1);
    h.hint({ rid: 'job-a', version: 1 });
    await expect.poll(() => seen).toEqual([0, 1]);
    expect(h.reads.at(-1)).toEqual(['job-a']);

    h.hint(undefined);
    await expect.poll(() => h.reads.length).toBe(4);
    expect(h.reads.at(-1)?.sort()).toEqual(['job-a', 'job-b']);

    await h.watchers.close();
    expect(h.counts()).toEqual({ opened: 1, closed: 1 });
  });

  it('follow a job from its first listener on, read it again once followed, and unfollow it when its last listener leaves or it is gone', async () => {
    const h = harness();
    const seen: number[] = [];
    const stopFirst = h.watchers.watch('job-a', -1, { onSnapshot: (s) => seen.push(s.version), onEnd: () => {} });
    const stopSecond = h.watchers.watch('job-a', -1, { onSnapshot: () => {}, onEnd: () => {} });
    await expect.poll(() => h.reads.length).toBe(2);
    expect(h.follows.map((f) => f.rid)).toEqual(['job-a']);

    // A change committed before the follow did: no hint will name it, the read once followed sees it.
    h.setVersion(1);
    h.follows[0]!.done();
    await expect.poll(() => seen).toEqual([0, 1]);
    expect(h.reads.at(-1)).toEqual(['job-a']);

    stopFirst();
    expect(h.unfollows).toEqual([]);
    stopSecond();
    expect(h.unfollows).toEqual(['job-a']);

    // A job whose row is gone (expired, swept): its watcher ends, and so does the follow.
    const gone = createExportJobWatchers({
      source: { read: async () => [] },
      jobEvents: createJobEvents(pino({ level: 'silent' })),
      now: Date.now,
      pollMs: TEN_MINUTES,
      log: pino({ level: 'silent' }),
      hints: () => ({ follow: async () => {}, unfollow: (rid) => void h.unfollows.push(rid), close: async () => {} }),
    });
    let ended = false;
    gone.watch('job-b', -1, { onSnapshot: () => {}, onEnd: () => (ended = true) });
    await expect.poll(() => ended).toBe(true);
    expect(h.unfollows).toEqual(['job-a', 'job-b']);
    await Promise.all([h.watchers.close(), gone.close()]);
  });
});
