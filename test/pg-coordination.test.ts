/**
 * How runners on many machines coordinate through PostgreSQL: one sweeper at a time (an
 * advisory lock), LISTEN/NOTIFY wake-ups on a connection that comes back after the server
 * drops it, and one setup (the demo seed) at a time. Every wait is for an event, except the
 * one that shows a setup is not running while another holds the lock.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADVISORY_LOCKS } from '../db/pg/advisory-locks.js';
import { withAdvisoryLock } from '../db/pg/index.js';
import { withSweeperLock } from '../server/jobs/pg-sweeper-lock.js';
import { listenForJobs, notifyJobs, JOBS_CHANNEL } from '../server/jobs/pg-wakeups.js';
import type { JobKind } from '../server/jobs/store.js';
import { freshPostgresDatabase } from './backends.js';

let url: string;
let name: string;
let drop: () => Promise<void>;
let poolA: pg.Pool;
let poolB: pg.Pool;

beforeAll(async () => {
  ({ url, name, drop } = await freshPostgresDatabase());
  poolA = new pg.Pool({ connectionString: url, max: 2 });
  poolB = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(async () => {
  await poolA.end();
  await poolB.end();
  await drop();
});

describe('the sweeper lock', () => {
  it('lets one process sweep at a time; the others skip that turn, and take over after', async () => {
    let finishA: () => void = () => {};
    const aHolds = new Promise<void>((resolve) => (finishA = resolve));
    let aStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (aStarted = resolve));
    const a = withSweeperLock(poolA, async () => {
      aStarted();
      await aHolds;
      return 'a swept';
    });
    await started;
    let bRan = false;
    expect(await withSweeperLock(poolB, async () => (bRan = true))).toEqual({ swept: false });
    expect(bRan).toBe(false);
    finishA();
    expect(await a).toEqual({ swept: true, result: 'a swept' });
    expect(await withSweeperLock(poolB, async () => 'b swept')).toEqual({ swept: true, result: 'b swept' });
  });

  it('a sweep that throws frees the lock', async () => {
    await expect(withSweeperLock(poolA, async () => Promise.reject(new Error('disk on fire')))).rejects.toThrow('disk on fire');
    expect(await withSweeperLock(poolB, async () => 'b')).toEqual({ swept: true, result: 'b' });
  });
});

/** Every wake-up in order, and a way to wait for the next one that matches. */
function wakeLog() {
  const seen: Array<JobKind | undefined> = [];
  const waiters: Array<{ match: (kind: JobKind | undefined) => boolean; resolve: () => void }> = [];
  return {
    seen,
    onWake(kind: JobKind | undefined) {
      seen.push(kind);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(kind)) waiter.resolve();
        else waiters.push(waiter);
      }
    },
    next(match: (kind: JobKind | undefined) => boolean): Promise<void> {
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

describe('job wake-ups (LISTEN/NOTIFY)', () => {
  it('delivers a notified kind, and after the server drops the connection reconnects and looks once', async () => {
    const log = wakeLog();
    const errors: Error[] = [];
    const firstLook = log.next((kind) => kind === undefined);
    const listener = listenForJobs({ connectionString: url, onWake: log.onWake, onError: (error) => errors.push(error), retryMs: 20 });
    try {
      await listener.ready;
      await firstLook;

      const exportWake = log.next((kind) => kind === 'export');
      await notifyJobs(poolA, 'export');
      await exportWake;

      // A notification inside a transaction is delivered at its commit, as the kind sent.
      const generationWake = log.next((kind) => kind === 'generation');
      const client = await poolA.connect();
      try {
        await client.query('begin');
        await notifyJobs(client, 'generation');
        await client.query('commit');
      } finally {
        client.release();
      }
      await generationWake;

      // The server ends the listener's session (a restart, a failover, an admin).
      const relook = log.next((kind) => kind === undefined);
      const killed = await poolB.query<{ killed: boolean }>(
        'select pg_terminate_backend(pid) as killed from pg_stat_activity where datname = $1 and query = $2',
        [name, `LISTEN ${JOBS_CHANNEL}`],
      );
      expect(killed.rows).toEqual([{ killed: true }]);
      await relook;
      expect(errors.length).toBeGreaterThan(0);

      const afterReconnect = log.next((kind) => kind === 'export');
      await notifyJobs(poolA, 'export');
      await afterReconnect;
      expect(log.seen).toEqual([undefined, 'export', 'generation', undefined, 'export']);
    } finally {
      await listener.close();
    }
  });
});

describe('the lock of one-at-a-time steps (withAdvisoryLock: migrations)', () => {
  it('runs one process’s step at a time: a second waits until the first is done, then runs', async () => {
    const order: string[] = [];
    let finishA: () => void = () => {};
    const aHolds = new Promise<void>((resolve) => (finishA = resolve));
    let aStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (aStarted = resolve));
    const a = withAdvisoryLock(poolA, ADVISORY_LOCKS.migrations, async () => {
      order.push('a starts');
      aStarted();
      await aHolds;
      order.push('a ends');
      return 'a';
    });
    await started;
    const b = withAdvisoryLock(poolB, ADVISORY_LOCKS.migrations, async () => {
      order.push('b starts');
      return 'b';
    });
    // b is waiting for the lock, not running: give it time to run if it could.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual(['a starts']);
    finishA();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(order).toEqual(['a starts', 'a ends', 'b starts']);
  });

  it('a step that throws frees the lock', async () => {
    await expect(withAdvisoryLock(poolA, ADVISORY_LOCKS.migrations, async () => Promise.reject(new Error('migration failed')))).rejects.toThrow('migration failed');
    expect(await withAdvisoryLock(poolB, ADVISORY_LOCKS.migrations, async () => 'b')).toBe('b');
  });
});
