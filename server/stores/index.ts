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

/** A backend opened for a process: its stores, and what the process must start and stop with it. */
export interface Backend {
  stores: Stores;
  /** Background upkeep this backend needs while the process serves (SQLite: the WAL checkpointer). */
  startMaintenance(log: Log): { stop(): Promise<void> };
  close(): Promise<void>;
}
