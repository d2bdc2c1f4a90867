/**
 * Whether the service's storage can take new work. Two sources, because neither alone
 * sees everything:
 * - a free-space probe (statfs) of the database's and the file store's folders, shared by
 *   every process on the machine, so an api-only process refuses work that its runner
 *   processes could not store;
 * - what writes report: a runner whose claim or commit failed with SQLITE_FULL, or whose
 *   file write failed with ENOSPC, marks that store full until a write to it succeeds or
 *   the report ages out (a quota or a max_page_count is invisible to statfs).
 * A create that cannot be run is refused up front (StorageFull, 503 with Retry-After)
 * instead of being accepted and left running forever.
 */
import { statfs as statfsCallback, type StatsFs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { NotepadError } from './contract/errors.js';

export type StoreName = 'database' | 'files';

export interface StorageProblem {
  store: StoreName;
  reason: string;
}

export interface StorageHealth {
  /** Stores that cannot take new work now, and why. */
  problems(): StorageProblem[];
  /** Throws StorageFull (503, Retry-After) while a store cannot take new work. */
  requireSpace(): void;
  /** A write to that store failed for lack of space. */
  reportFull(store: StoreName, reason: string): void;
  /** A write to that store succeeded. */
  reportWrite(store: StoreName): void;
  /** Probes free space now (and then every probeIntervalMs, until stop()). */
  start(): Promise<void>;
  stop(): void;
}

export interface StorageHealthOptions {
  now: () => number;
  /** Folders to probe, per store; none: only reported failures count. */
  dirs?: Partial<Record<StoreName, string>>;
  /** Less free space than this (bytes available to us) is full; 0 turns the probe off. */
  minFreeBytes?: number;
  probeIntervalMs?: number;
  /** How long a reported failure stands without a newer report or a successful write. */
  reportTtlMs?: number;
  statfs?: (path: string) => Promise<Pick<StatsFs, 'bavail' | 'bsize'>>;
}

/** How long a refused client should wait before trying again. */
export const STORAGE_FULL_RETRY_AFTER_SECONDS = 30;

const STORES: readonly StoreName[] = ['database', 'files'];
const statfsPromise = promisify(statfsCallback);

/**
 * Codes of a write refused for want of space: ENOSPC and EDQUOT from a local file store,
 * SQLITE_FULL from SQLite, SQLSTATE 53100 (disk_full) from PostgreSQL.
 */
const OUT_OF_SPACE_CODES: ReadonlySet<unknown> = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);
/** Names the S3 SDK gives such a refusal by an S3-compatible server (MinIO below its free-space threshold). */
const OUT_OF_SPACE_NAMES: ReadonlySet<unknown> = new Set(['XMinioStorageFull']);

/**
 * Out of space, from whichever store: the error itself or what it wraps (drizzle wraps a
 * driver's error in a DrizzleQueryError whose `cause` is the driver's).
 */
export function isOutOfSpace(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, name, cause } = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (OUT_OF_SPACE_CODES.has(code) || OUT_OF_SPACE_NAMES.has(name)) return true;
    current = cause;
  }
  return false;
}

/**
 * Connection-level errors: the database or the file store could not be reached, or dropped
 * the connection (a restart, a failover, a terminated session). A transient fault of the
 * service, never of the job or request in hand. Codes of Node's sockets and PostgreSQL's
 * connection classes (08: connection exception, 57P01-57P03: shutdown or startup), and the
 * messages node-postgres gives a connection lost without a code. Wrappers (Drizzle's failed
 * query, AggregateError of several addresses) are looked through.
 */
export function isConnectionLost(error: unknown): boolean {
  for (let depth = 0, current = error; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, errors } = current as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === 'string' && (CONNECTION_LOST_CODES.has(code) || code.startsWith('08'))) return true;
    if (typeof message === 'string' && CONNECTION_LOST_MESSAGES.some((lost) => message.startsWith(lost))) return true;
    if (Array.isArray(errors) && errors.some((inner) => isConnectionLost(inner))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

const CONNECTION_LOST_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
const CONNECTION_LOST_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  // A client's own connect timeout (connectionTimeoutMillis), e.g. the LISTEN client's.
  'timeout expired',
];

export function createStorageHealth(options: StorageHealthOptions): StorageHealth {
  const { now, dirs = {}, minFreeBytes = 0, probeIntervalMs = 1_000, reportTtlMs = 10_000, statfs = statfsPromise } = options;
  const reported = new Map<StoreName, { reason: string; at: number }>();
  const probed = new Map<StoreName, string>();
  let timer: NodeJS.Timeout | undefined;

  async function probe(): Promise<void> {
    if (minFreeBytes <= 0) return;
    for (const store of STORES) {
      const dir = dirs[store];
      if (!dir) continue;
      try {
        const stats = await statfs(dir);
        const free = stats.bavail * stats.bsize;
        if (free < minFreeBytes) probed.set(store, `${free} bytes free, below the minimum of ${minFreeBytes}`);
        else probed.delete(store);
      } catch {
        // A folder that cannot be probed says nothing about space; writes will tell.
        probed.delete(store);
      }
    }
  }

  const health: StorageHealth = {
    problems() {
      const problems: StorageProblem[] = [];
      for (const store of STORES) {
        const report = reported.get(store);
        if (report && now() - report.at > reportTtlMs) reported.delete(store);
        const reason = reported.get(store)?.reason ?? probed.get(store);
        if (reason !== undefined) problems.push({ store, reason });
      }
      return problems;
    },
    requireSpace() {
      const [problem] = health.problems();
      if (problem) throw new NotepadError('StorageFull', { store: problem.store }, { retryAfterSeconds: STORAGE_FULL_RETRY_AFTER_SECONDS });
    },
    reportFull(store, reason) {
      reported.set(store, { reason, at: now() });
    },
    reportWrite(store) {
      reported.delete(store);
    },
    async start() {
      await probe();
      if (minFreeBytes > 0 && !timer) {
        timer = setInterval(() => void probe(), probeIntervalMs).unref();
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  return health;
}

/** The folder whose free space a database file uses. */
export const databaseDir = (dbPath: string): string => dirname(resolve(dbPath));
