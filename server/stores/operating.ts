/** What operators read from the database: liveness, schema state, queue depth, sizes. */
import type { JobKind } from '../jobs/store.js';

export interface QueueDepth {
  /** Unfinished, and no runner holds a live lease: claimable. */
  waiting: number;
  /** A runner holds a live lease (up to and including its expiry instant, as jobs/lease.ts says). */
  running: number;
}

export type QueueDepths = Record<JobKind, QueueDepth>;

export interface OperatingStore {
  /** Resolves if the database answers a trivial query; rejects with why not. */
  ping(): Promise<void>;
  /**
   * The database's migrations against this build's (or those in `migrationsFolder`): a
   * sentence naming what is missing or unknown, or undefined if they match.
   */
  migrationProblems(migrationsFolder?: string): Promise<string | undefined>;
  /** Jobs waiting and running per kind, read from the database (every process sharing it agrees). */
  queueDepth(now: number): Promise<QueueDepths>;
  /** The database's bytes on disk and its write-ahead log's (0 where a backend has none). */
  sizes(): Promise<{ databaseBytes: number; walBytes: number }>;
}
