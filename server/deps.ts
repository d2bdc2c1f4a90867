import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { defaultConfig, type Config } from './config.js';
import { createJobEvents, type JobEvents, type JobKind } from './job-events.js';
import type { Leases } from './jobs/lease.js';
import { createStorageHealth, type StorageHealth } from './storage-health.js';
import type { ExportJobChangeHints, Stores } from './stores/index.js';
import { createExportJobWatchers, type ExportJobWatchers } from './services/export-job-watchers.js';

/**
 * What every service needs, built once per process (or per test). The clock and the id
 * generator are injected so tests can control time and identities.
 */
export interface Deps {
  /** All storage, behind the backend-neutral interfaces of stores/ (the runner's is stores.jobs). */
  stores: Stores;
  config: Config;
  logger: Logger;
  /** Whether the database and the file store can take new work. */
  storage: StorageHealth;
  now: () => number;
  uuid: () => string;
  /** Jobs created and ended, for whoever listens: a runner in this process (to start a new job at once), metrics, summaries. */
  jobEvents: JobEvents;
  /** One watcher per followed export job, shared by every listener (the event stream, tRPC watch). */
  watchers: ExportJobWatchers;
  /** The services call this when they created a job: a `created` job event. Listen with jobEvents.subscribe. */
  readonly onJobCreated: (kind: JobKind) => void;
}

export interface DepsOptions {
  /** Built by one backend's factory, e.g. createSqliteStores(db) (stores/sqlite/index.ts). */
  stores: Stores;
  config?: Partial<Omit<Config, 'jobs' | 'http' | 'quotas' | 'events'>> & {
    jobs?: Partial<Config['jobs']>;
    http?: Partial<Config['http']>;
    quotas?: Partial<Config['quotas']>;
    events?: Partial<Config['events']>;
  };
  logger?: Logger;
  now?: () => number;
  uuid?: () => string;
  /** Default: no free-space probe, only what writes report. */
  storage?: StorageHealth;
  /** Other processes' changes of export jobs as they commit (the backend's coordination, PostgreSQL), for the watchers. */
  exportJobChangeHints?: ExportJobChangeHints | undefined;
}

export function createDeps(options: DepsOptions): Deps {
  const base = defaultConfig();
  const config: Config = {
    ...base,
    ...options.config,
    jobs: { ...base.jobs, ...options.config?.jobs },
    http: { ...base.http, ...options.config?.http },
    quotas: { ...base.quotas, ...options.config?.quotas },
    events: { ...base.events, ...options.config?.events },
  };
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: 'silent' });
  const jobEvents = createJobEvents(logger);
  return {
    stores: options.stores,
    config,
    logger,
    storage: options.storage ?? createStorageHealth({ now }),
    now,
    uuid: options.uuid ?? randomUUID,
    jobEvents,
    watchers: createExportJobWatchers({
      source: { read: (rids, at) => options.stores.exports.changes(rids, at) },
      jobEvents,
      now,
      pollMs: config.events.pollMs,
      log: logger,
      hints: options.exportJobChangeHints,
    }),
    onJobCreated: (kind) => jobEvents.emit({ type: 'created', kind }),
  };
}

/** The lease functions' view of a process: its job store, its clock, its configured lease. */
export const leasesOf = (deps: Deps): Leases => ({ store: deps.stores.jobs, now: deps.now, leaseMs: () => deps.config.jobs.leaseMs });
