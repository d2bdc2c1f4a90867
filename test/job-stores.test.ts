/**
 * The job stores: the shared contract (test/stores/job-store.contract.ts) on SQLite (its
 * PostgreSQL run is in test/stores/pg.test.ts, on the backend's own job store), and what only
 * PostgreSQL has: many claimers at once on separate connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../db/index.js';
import { openPostgres, type PostgresDatabase } from '../db/pg/index.js';
import * as pgSchema from '../db/pg/schema.js';
import * as sqliteSchema from '../db/schema.js';
import { createPgJobStore } from '../server/jobs/pg-store.js';
import { createSqliteJobStore } from '../server/jobs/sqlite-store.js';
import type { Content } from '../server/contract/content.js';
import type { ExportJobRow } from '../server/jobs/store.js';
import { freshPostgresDatabase } from './backends.js';
import { jobStoreContract, type Rows } from './stores/job-store.contract.js';

jobStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-job-store-'));
  const database = openDatabase(join(dir, 'notepad.db'));
  const { db } = database;
  return {
    store: createSqliteJobStore(db),
    async insert(table, rows) {
      // One schema's table per name; their insert types are the same (Rows).
      db.insert(sqliteSchema[table] as typeof sqliteSchema.users)
        .values(rows as Array<Rows['users']>)
        .run();
    },
    async exportJob(rid) {
      return db.select().from(sqliteSchema.exportJobs).where(eq(sqliteSchema.exportJobs.rid, rid)).get();
    },
    async cleanup() {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** A queued export job's row: running, nobody's lease, expiring long after the tests' clocks. */
const queuedJob = (rid: string, creatorId: string, createdAt: number) =>
  ({ rid, creatorId, sourceType: 'documentSource', userLocale: 'en-US', userTimezone: 'UTC', status: 'running', createdAt, expiresAt: 1_000_000 }) as const;

/** Whether a session of the pool's database waits for a lock, within 2 s. */
async function lockWaiterSeen(pool: pg.Pool): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    const { rows } = await pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
    if (rows[0].n > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

describe('PostgreSQL job store under concurrent claimers', () => {
  let database: PostgresDatabase;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshPostgresDatabase();
    drop = fresh.drop;
    database = await openPostgres(fresh.url, { poolSize: 16 });
  });
  afterAll(async () => {
    await database.close();
    await drop();
  });

  it('an export\'s claim carries its inputs: exportInputs of the row the claim answered asks the database nothing; of a copy, it reads', async () => {
    // A database of its own: the other tests leave claimable jobs behind.
    const fresh = await freshPostgresDatabase();
    const own = await openPostgres(fresh.url, { poolSize: 2 });
    try {
      const { db } = own;
      const content = [{ type: 'paragraph', children: [{ type: 'text', text: 'Hi' }] }] as unknown as Content;
      await db.insert(pgSchema.users).values({ id: 'in', name: 'in', createdAt: 0 });
      await db.insert(pgSchema.documents).values({ rid: 'doc-in', title: 'Doc', content, ownerId: 'in', createdAt: 0, updatedAt: 0 });
      await db.insert(pgSchema.exportJobs).values({ ...queuedJob('in-job', 'in', 0), documentRid: 'doc-in' });
      const store = createPgJobStore(db);
      const claimed = (await store.claimNext('export', { owner: 'r', now: 1_000, leaseMs: 1_000_000 }))!;
      expect(claimed.rid).toBe('in-job');
      const queries = vi.spyOn(own.pool, 'query');
      const expected = { storedBytes: 0, source: { title: 'Doc', content } };
      expect(await store.exportInputs(claimed)).toEqual(expected);
      expect(queries).not.toHaveBeenCalled();
      expect(await store.exportInputs({ ...claimed })).toEqual(expected);
      expect(queries).toHaveBeenCalled();
    } finally {
      await own.close();
      await fresh.drop();
    }
  });

  it('never claims one job twice, and claims every job', async () => {
    const { db } = database;
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    await db.insert(pgSchema.users).values(users.map((id) => ({ id, name: id, createdAt: 0 })));
    const jobs = Array.from({ length: 300 }, (_, i) => queuedJob(`job-${String(i).padStart(4, '0')}`, users[i % users.length]!, i));
    await db.insert(pgSchema.exportJobs).values(jobs);

    const store = createPgJobStore(db);
    const claimed: string[] = [];
    // 16 claimers on 16 connections, each claiming until nothing is left; leases never lapse.
    await Promise.all(
      Array.from({ length: 16 }, async (_, claimer) => {
        for (let misses = 0; misses < 3; ) {
          const job = await store.claimNext('export', { owner: `r${claimer}`, now: 1_000, leaseMs: 1_000_000 });
          if (job) claimed.push(job.rid);
          else misses++;
        }
      }),
    );
    expect(claimed.length).toBe(jobs.length);
    expect(new Set(claimed).size).toBe(jobs.length);
    const rows = await db.select({ attempts: pgSchema.exportJobs.attempts }).from(pgSchema.exportJobs);
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
  });

  it('success commits of one user at once: exactly those that fit; racing the job\'s other writes, each job ends once, without deadlock', async () => {
    const { db } = database;
    await db.insert(pgSchema.users).values({ id: 'q', name: 'q', createdAt: 0 });
    const size = 1_000;
    const fitting = 10;
    const jobs = Array.from({ length: 40 }, (_, i) => queuedJob(`q-job-${String(i).padStart(2, '0')}`, 'q', i));
    await db.insert(pgSchema.exportJobs).values(jobs);
    const store = createPgJobStore(db);
    const claimed: ExportJobRow[] = [];
    for (const _ of jobs) claimed.push((await store.claimNext('export', { owner: 'r', now: 1_000, leaseMs: 1_000_000 }))!);
    // Every commit at once, each allowed if the user then holds at most (fitting - 1) files'
    // bytes; every other job also failed at the same moment (its row, then the usage row by
    // the trigger: the lock order the commit must keep, or the two deadlock).
    const attempt = (job: ExportJobRow) => ({ rid: job.rid, owner: 'r', attempt: job.attempts });
    const outcomes = await Promise.all(
      claimed.map(async (job, i) => {
        const file = { rid: `q-file-${i}`, storageKey: `q-key-${i}`, mediaType: 'application/pdf', filename: 'q.pdf', sizeBytes: size, sha256: 'ab'.repeat(32) };
        const [commit, failed] = await Promise.all([
          store.commitExportSuccess(job, attempt(job), 2_000, file, (fitting - 1) * size),
          i % 2 === 1 ? store.failExport(attempt(job), 2_000, { errorCode: 'INTERNAL', message: 'raced', errorInstanceId: 'x' }) : Promise.resolve(false),
        ]);
        return { commit: commit.outcome, failed };
      }),
    );
    const committed = outcomes.filter((o) => o.commit === 'committed').length;
    expect(committed).toBe(fitting);
    // A job ends once: committed, or failed by the racing write, or neither (refused, still running).
    for (const o of outcomes) expect(o.commit === 'committed' && o.failed).toBe(false);
    const rows = await db.select().from(pgSchema.exportJobs).where(eq(pgSchema.exportJobs.creatorId, 'q'));
    expect(rows.filter((r) => r.status === 'succeeded')).toHaveLength(fitting);
    expect(rows.filter((r) => r.status === 'failed')).toHaveLength(outcomes.filter((o) => o.failed).length);
    const files = await db.select().from(pgSchema.files).where(eq(pgSchema.files.ownerId, 'q'));
    expect(files).toHaveLength(fitting);
    expect(await store.storedBytes('q')).toBe(fitting * size);
    const [usage] = await db.select().from(pgSchema.userUsage).where(eq(pgSchema.userUsage.userId, 'q'));
    expect(usage!.activeExportJobs).toBe(rows.filter((r) => r.status === 'running').length);
  });

  /**
   * A claimed job of a new user `id` (claimed at 1,000 for `leaseMs`), and its success commit at
   * `commitAt`, started while another session holds the job row by `hold` in an open
   * transaction: answered once the commit is seen waiting for that lock.
   */
  async function commitBehindHeldRow(id: string, { leaseMs, commitAt, hold }: { leaseMs: number; commitAt: number; hold: string }) {
    const { db, pool } = database;
    await db.insert(pgSchema.users).values({ id, name: id, createdAt: 0 });
    const rid = `${id}-job`;
    await db.insert(pgSchema.exportJobs).values(queuedJob(rid, id, 0));
    const store = createPgJobStore(db);
    const job = (await store.claimNext('export', { owner: 'r', now: 1_000, leaseMs }))!;
    const other = await pool.connect();
    await other.query('begin');
    await other.query(hold, [rid]);
    const file = { rid: `${id}-file`, storageKey: `${id}-key`, mediaType: 'application/pdf', filename: 'f.pdf', sizeBytes: 10, sha256: 'ab'.repeat(32) };
    // Its error, if it has one, is what the test's last expectation shows.
    const commit = store.commitExportSuccess(job, { rid, owner: 'r', attempt: job.attempts }, commitAt, file, 1_000_000).catch((error: unknown) => error);
    expect(await lockWaiterSeen(pool)).toBe(true);
    return { store, other, commit, storageKey: file.storageKey };
  }

  it('a success commit takes the job row before its user\'s usage row: waiting for the job, it holds nothing another writer needs', async () => {
    // Another writer of the job (a cancel, a failure) holds its row, as the triggers' order has it.
    const { other, commit } = await commitBehindHeldRow('o', { leaseMs: 1_000_000, commitAt: 2_000, hold: 'select 1 from export_jobs where rid = $1 for update' });
    try {
      // Now the other writer goes on to the usage row, as its trigger would: free, since the
      // commit took nothing before the job row (else the two deadlock and one is aborted).
      await other.query("set local lock_timeout = '3s'");
      await other.query("select 1 from user_usage where user_id = 'o' for update");
      await other.query('commit');
      expect(await commit).toEqual({ outcome: 'committed' });
    } finally {
      other.release();
    }
  });

  it('a success commit that waited for its job row checks the lease as the row is then: a renewal committed meanwhile counts', async () => {
    // The lease runs to 2,000; the attempt's renewal to 5,000 is not yet committed when the commit at 2,500 starts.
    const { store, other, commit, storageKey } = await commitBehindHeldRow('w', { leaseMs: 1_000, commitAt: 2_500, hold: 'update export_jobs set lease_expires_at = 5000 where rid = $1' });
    try {
      await other.query('commit');
      // The lease of the commit's snapshot had lapsed at 2,500; the renewed one is live.
      expect(await commit).toEqual({ outcome: 'committed' });
      expect(await store.fileRowExists(storageKey)).toBe(true);
    } finally {
      other.release();
    }
  });
});
