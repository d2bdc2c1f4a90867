/**
 * The PostgreSQL backend: every store over one connection pool (db/pg/index.ts), migrated
 * under the migrations advisory lock when opened, and the coordination runners on many
 * nodes need: one sweeper at a time (jobs/pg-sweeper-lock.ts) and LISTEN/NOTIFY wake-ups
 * (jobs/pg-wakeups.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { guardPool, openPostgres, PG_CONNECTION_OPTIONS, type PgDb } from '../../../db/pg/index.js';
import { createPgJobStore } from '../../jobs/pg-store.js';
import { withSweeperLock } from '../../jobs/pg-sweeper-lock.js';
import { listenForExportJobChanges, listenForJobs } from '../../jobs/pg-wakeups.js';
import type { Backend, Stores } from '../index.js';
import { createPgAuthStore } from './auth.js';
import { createPgDirectoryStore } from './directory.js';
import { createExportJobWatchRegistry, EXPORT_JOB_WATCH_TTL_MS } from './export-job-watches.js';
import { createPgExportJobStore } from './exports.js';
import { createPgGenerationStore } from './generations.js';
import { createPgOperatingStore } from './operating.js';

export function createPgStores(db: PgDb): Stores {
  return {
    exports: createPgExportJobStore(db),
    generations: createPgGenerationStore(db),
    directory: createPgDirectoryStore(db),
    auth: createPgAuthStore(db),
    operating: createPgOperatingStore(db),
    jobs: createPgJobStore(db),
  };
}

export interface PgBackendOptions {
  /** Connections in this process's pool (NOTEPAD_DB_POOL). */
  pool: number;
  /** An idle pooled connection failed (the server restarted); the pool replaces it. */
  onIdleError?: (error: Error) => void;
  /** How long a statement waits for another session's lock (db/pg/index.ts; default SQLite's busy timeout). */
  lockTimeoutMs?: number;
}

/** Opens a pool on `url`, applies pending migrations (one process at a time), and builds the stores. */
export async function openPgBackend(url: string, options: PgBackendOptions): Promise<Backend> {
  const database = await openPostgres(url, {
    poolSize: options.pool,
    onIdleError: options.onIdleError,
    ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  });
  // The sweeper lock is a session lock held on one connection for the whole sweep, while the
  // sweep's statements run on the main pool: taken from that pool, a pool of one
  // (NOTEPAD_DB_POOL=1) would wait for itself forever. So the lock has its own connection.
  const lockPool = new pg.Pool({ connectionString: url, max: 1, ...PG_CONNECTION_OPTIONS });
  guardPool(lockPool, options.onIdleError);
  return {
    stores: createPgStores(database.db),
    coordination: {
      exclusiveSweep: (sweep) => withSweeperLock(lockPool, sweep),
      listenForJobs(onWake, onError) {
        const listener = listenForJobs({ connectionString: url, onWake: () => onWake(), onError });
        return { close: () => listener.close() };
      },
      listenForExportJobChanges(onChange, onError) {
        const listener = listenForExportJobChanges({ connectionString: url, onChange, onError });
        // Changes NOTIFY only for jobs some node follows (migrations-pg/0006): this node's rows.
        const watches = createExportJobWatchRegistry(database.db, {
          node: randomUUID(),
          ttlMs: EXPORT_JOB_WATCH_TTL_MS,
          onError: (error) => onError(new Error('could not write which export jobs this node follows; retrying at the next renewal', { cause: error })),
        });
        return {
          follow: (rid) => watches.follow(rid),
          unfollow: (rid) => watches.unfollow(rid),
          close: async () => {
            await Promise.all([watches.close(), listener.close()]);
          },
        };
      },
    },
    // Nothing runs in the background for PostgreSQL: the server checkpoints and vacuums itself.
    startMaintenance: () => ({ stop: async () => {} }),
    async close() {
      await lockPool.end();
      await database.close();
    },
  };
}
