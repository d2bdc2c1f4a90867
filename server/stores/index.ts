/**
 * The storage seam: everything the services, routes, CLI, seed and runner read or write
 * goes through one of these interfaces, never SQL. One implementation per backend, built
 * by that backend's factory (sqlite/index.ts createSqliteStores); docs/STORES.md says how
 * another plugs in.
 */
import type { JobStore } from '../jobs/store.js';
import type { Log } from '../log.js';
import type { AuthStore } from './auth.js';
import type { DirectoryStore } from './directory.js';
import type { ExportJobStore } from './exports.js';
import type { GenerationStore } from './generations.js';
import type { OperatingStore } from './operating.js';

export interface Stores {
  exports: ExportJobStore;
  generations: GenerationStore;
  directory: DirectoryStore;
  auth: AuthStore;
  operating: OperatingStore;
  /** The runner's: claims, leases, sources, outcomes, sweeping. */
  jobs: JobStore;
}

/**
 * How runners in many processes sharing one database coordinate (PostgreSQL). A backend
 * without it (SQLite) has no cross-process wake-ups, and sweeps wherever a runner runs.
 */
export interface RunnerCoordination {
  /** Runs `sweep` unless another process sweeps now (then `{ swept: false }`): one sweeper at a time. */
  exclusiveSweep<T>(sweep: () => Promise<T>): Promise<{ swept: true; result: T } | { swept: false }>;
  /**
   * Calls `onWake` when a job may have been created by another process (a hint: polling stays
   * the guarantee); keeps listening across lost connections until closed.
   */
  listenForJobs(onWake: () => void, onError: (error: Error) => void): { close(): Promise<void> };
  /**
   * Calls `onChange` when an export job the subscriber follows changed in any process (its rid
   * and new version; undefined: any may have, after a lost connection): what the watchers of
   * an API node read at once instead of at their next poll. A hint, as listenForJobs.
   */
  listenForExportJobChanges: ExportJobChangeHints;
}

/**
 * Subscribes to hints of export jobs' changes until closed (RunnerCoordination.listenForExportJobChanges):
 * of the jobs the subscriber follows, and maybe of others.
 */
export type ExportJobChangeHints = (onChange: (change: { rid: string; version: number } | undefined) => void, onError: (error: Error) => void) => ExportJobChangeSubscription;

export interface ExportJobChangeSubscription {
  /**
   * Asks for hints of job `rid`'s changes. Resolves once changes that commit from then on will
   * be hinted, or once asking failed (reported to onError): read the job then, for what
   * committed before.
   */
  follow(rid: string): Promise<void>;
  /** Hints of `rid`'s changes are no longer needed. */
  unfollow(rid: string): void;
  close(): Promise<void>;
}

/** A backend opened for a process: its stores, and what the process must start and stop with it. */
export interface Backend {
  stores: Stores;
  /** Present where runners of several processes must coordinate (PostgreSQL). */
  coordination?: RunnerCoordination;
  /** Background upkeep this backend needs while the process serves (SQLite: the WAL checkpointer). */
  startMaintenance(log: Log): { stop(): Promise<void> };
  close(): Promise<void>;
}
