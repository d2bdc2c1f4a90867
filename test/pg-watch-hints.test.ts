/**
 * Watchers on an API node hear of changes made by another node's runner as they commit
 * (PostgreSQL: a NOTIFY per change, migrations-pg/0004), not at their next poll. The poll is
 * set to ten minutes here, so a snapshot within the test's time can only have come from the
 * hint; and hints of versions the watcher has already read cost no read.
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
  look = new pg.Pool({ connectionString: url, max: 1 });
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
      // Two reads, and no more until a hint: the watch's first, and the one after the listener connected.
      await expect.poll(() => watcherReads).toBe(2);

      // The runner node claims it: the watchers of the API node are told by the database alone.
      const owner = 'runner-on-another-node';
      const claimed = await runnerNode.stores.jobs.claimNext('export', { owner, now: Date.now(), leaseMs: TEN_MINUTES });
      expect(claimed?.rid).toBe(rid);
      await expect.poll(() => snapshots.length, { timeout: 10_000 }).toBe(2);
      expect(snapshots[1]!.job.progress).toMatchObject({ stage: 'rendering' });
      expect(watcherReads).toBe(3);

      const attempt = { rid, owner, attempt: claimed!.attempts };
      expect(await runnerNode.stores.jobs.failExport(attempt, Date.now(), { errorCode: 'INTERNAL', message: 'The render failed.', errorInstanceId: 'instance-1' })).toBe(true);
      await expect.poll(() => snapshots.length, { timeout: 10_000 }).toBe(3);
      expect(snapshots[2]).toMatchObject({ ended: true, job: { status: { type: 'failed', errorMessage: 'The render failed.' } } });
      expect(ended).toBe(false);
    } finally {
      stop();
    }
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
        return { close: async () => void closed++ };
      },
    });
    return { watchers, reads, hint: (change: Parameters<typeof send>[0]) => send(change), setVersion: (v: number) => (version = v), counts: () => ({ opened, closed }) };
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
});
