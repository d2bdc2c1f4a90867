import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Db } from '../db/index.js';
import { defaultConfig, type Config } from './config.js';
import { createJobEvents, type JobEvents, type JobKind } from './job-events.js';
import { createSqliteJobStore } from './jobs/sqlite-store.js';
import type { Leases } from './jobs/lease.js';
import type { JobStore } from './jobs/store.js';
import { createStatements, type Statements } from './services/statements.js';
import { createStorageHealth, type StorageHealth } from './storage-health.js';
import { createWriteBatcher, type WriteBatcher } from './services/write-batch.js';
import { createExportJobWatchers, type ExportJobWatchers } from './services/export-job-watchers.js';

/**
 * What every service needs, built once per process (or per test). The clock and the id
 * generator are injected so tests can control time and identities.
 */
export interface Deps {
  db: Db;
  stmts: Statements;
  /** The runner's storage: claims, leases, sources, outcomes, sweeping. */
  jobs: JobStore;
  /** Group commit for hot inserts (services/write-batch.ts). */
  writes: WriteBatcher;
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
  db: Db;
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
  const stmts = createStatements(options.db);
  return {
    db: options.db,
    stmts,
    jobs: createSqliteJobStore(options.db),
    writes: createWriteBatcher(options.db.$client),
    config,
    logger,
    storage: options.storage ?? createStorageHealth({ now }),
    now,
    uuid: options.uuid ?? randomUUID,
    jobEvents,
    watchers: createExportJobWatchers({
      source: { read: (rid, at) => stmts.exportJobChange.get({ rid, now: at }) },
      jobEvents,
      now,
      pollMs: config.events.pollMs,
      log: logger,
    }),
    onJobCreated: (kind) => jobEvents.emit({ type: 'created', kind }),
  };
}

/** The lease functions' view of a process: its job store, its clock, its configured lease. */
export const leasesOf = (deps: Deps): Leases => ({ store: deps.jobs, now: deps.now, leaseMs: () => deps.config.jobs.leaseMs });
