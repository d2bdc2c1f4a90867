import { availableParallelism } from 'node:os';
import { DEFAULT_LOCK_WAIT_MS } from '../db/lock-wait.js';

export type Role = 'all' | 'api' | 'runner';

/** Where the data lives (NOTEPAD_DB): a SQLite file, or a PostgreSQL database with a connection pool. */
export type DatabaseConfig = ({ kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize: number }) & {
  /** How long a statement waits for another connection's lock before it fails (NOTEPAD_DB_LOCK_TIMEOUT_MS). */
  lockTimeoutMs: number;
};

/**
 * Where the PDFs live (NOTEPAD_FILES): a local directory, or a bucket (and key prefix) of an
 * S3-compatible store. `credentials` absent: the AWS SDK's default chain (instance roles, ...).
 */
export type FilesConfig =
  | { kind: 'local'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      /** '' or a prefix ending in '/', put before every key. */
      prefix: string;
      region: string;
      /** AWS_ENDPOINT_URL_S3: a non-AWS endpoint (MinIO, Ceph, R2, ...). */
      endpoint: string | undefined;
      /** NOTEPAD_S3_FORCE_PATH_STYLE: bucket in the path, not the host name (MinIO-style endpoints). */
      forcePathStyle: boolean;
      credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
    };

export interface Config {
  database: DatabaseConfig;
  files: FilesConfig;
  host: string;
  port: number;
  logLevel: string;
  role: Role;
  /** Largest accepted REST/tRPC request body, in bytes. */
  bodyLimit: number;
  /** How long one Markdown import (CLI) may take. */
  importTimeoutMs: number;
  /** Below this many free bytes on the database's or the file store's disk, new work is refused (0: never). */
  minFreeBytes: number;
  exportJobTtlMs: number;
  generationJobTtlMs: number;
  /** How long an Idempotency-Key is remembered (never longer than its job lives). */
  idempotencyTtlMs: number;
  /** GET /metrics (Prometheus text format); off: 404. */
  metrics: boolean;
  /** How often the API and the runner each log a summary line at info; 0: never. */
  summaryIntervalMs: number;
  jobs: {
    concurrency: number;
    /**
     * Render slots beyond `concurrency` that take only jobs of users with nothing rendering
     * (ClaimScope 'idle-users'): a user's small export starts at once, beside another
     * user's flood, instead of after one of the flood's renders. 0: none.
     */
    expressSlots: number;
    /** A job still running after this long ends `failed` with TIMEOUT. */
    deadlineMs: number;
    /** How long a claim lasts without renewal; a runner that died loses its jobs after this. */
    leaseMs: number;
    /** Period of the scan that picks up jobs nobody was told about (other processes, restarts). */
    scanIntervalMs: number;
    maxAttempts: number;
    maxPages: number;
    maxPdfBytes: number;
    /** Graceful shutdown waits this long for in-flight jobs before leaving them claimable. */
    shutdownGraceMs: number;
    /** A rendering job's pages-rendered count is written at most this often (jobs/progress.ts). */
    progressIntervalMs: number;
  };
  http: HttpLimits;
  /** Following a job as it changes: the event stream and tRPC's watch (services/export-job-watchers.ts). */
  events: {
    /** How often a watched job's row is read (for runners in other processes). */
    pollMs: number;
    /** A comment line on an idle event stream this often, so proxies keep it open. */
    heartbeatMs: number;
    /** An event stream is closed after this long; the client reconnects with Last-Event-ID. */
    maxStreamMs: number;
  };
  /**
   * Per-user quotas (server/quotas.ts), beyond which creates are answered 429. They read
   * the database, so they hold across processes sharing it.
   */
  quotas: {
    /** Export jobs of one user not yet ended (TooManyActiveExportJobs). */
    maxActiveExportJobsPerUser: number;
    /** Generation jobs of one user not yet ended (TooManyActiveGenerationJobs). */
    maxActiveGenerationJobsPerUser: number;
    /** Bytes of one user's stored files and generated content (StorageQuotaExceeded). */
    maxStoredBytesPerUser: number;
  };
}

// --- HTTP limits: what one client may hold or send (README "Limits"). ---------------------

/** A token bucket per bearer token: `perSecond` refill, `burst` capacity. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface HttpLimits {
  /** A request's headers must arrive within this, at most requestTimeoutMs (408 Default:RequestTimeout). */
  headersTimeoutMs: number;
  /** A request's headers and body must arrive within this (408 Default:RequestTimeout). */
  requestTimeoutMs: number;
  /** Open connections of the whole process; more are closed at once. 0: no cap. */
  maxConnections: number;
  /** Open connections from one remote address; more are closed at once. 0: no cap. */
  maxConnectionsPerClient: number;
  /** Procedure calls in one tRPC batch request (400 Default:InvalidArgument above). */
  maxBatchSize: number;
  /** Requests per bearer token, per process (429 Default:TooManyRequests above); false: off. */
  rateLimit: RateLimit | false;
}

/** Generous: a client polling many jobs stays far below it; a script hammering one token does not. */
const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 500 };

export function defaultHttpLimits(): HttpLimits {
  return {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    maxConnections: 4_096,
    maxConnectionsPerClient: 256,
    maxBatchSize: 10,
    rateLimit: DEFAULT_RATE_LIMIT,
  };
}

function httpLimitsFromEnv(env: NodeJS.ProcessEnv, base: HttpLimits): HttpLimits {
  return {
    headersTimeoutMs: intFrom(env, 'NOTEPAD_HEADERS_TIMEOUT_MS', base.headersTimeoutMs, 1),
    requestTimeoutMs: intFrom(env, 'NOTEPAD_REQUEST_TIMEOUT_MS', base.requestTimeoutMs, 1),
    maxConnections: intFrom(env, 'NOTEPAD_MAX_CONNECTIONS', base.maxConnections),
    maxConnectionsPerClient: intFrom(env, 'NOTEPAD_MAX_CONNECTIONS_PER_CLIENT', base.maxConnectionsPerClient),
    maxBatchSize: intFrom(env, 'NOTEPAD_TRPC_MAX_BATCH', base.maxBatchSize, 1),
    rateLimit: rateLimitFromEnv(env, DEFAULT_RATE_LIMIT),
  };
}

function rateLimitFromEnv(env: NodeJS.ProcessEnv, base: RateLimit): RateLimit | false {
  const raw = env.NOTEPAD_RATE_LIMIT;
  if (raw === 'off') return false;
  const perSecond = raw === undefined || raw === '' ? base.perSecond : Number(raw);
  if (!Number.isFinite(perSecond) || perSecond <= 0) {
    throw new Error(`NOTEPAD_RATE_LIMIT must be "off" or requests per second (> 0), got "${raw}"`);
  }
  return { perSecond, burst: intFrom(env, 'NOTEPAD_RATE_BURST', base.burst, 1) };
}

// -------------------------------------------------------------------------------------------

const HOUR = 3_600_000;

export function defaultConfig(): Config {
  return {
    database: { kind: 'sqlite', path: './data/notepad.db', lockTimeoutMs: DEFAULT_LOCK_WAIT_MS },
    files: { kind: 'local', dir: './data/files' },
    host: '127.0.0.1',
    port: 8080,
    logLevel: 'info',
    role: 'all',
    bodyLimit: 1024 * 1024,
    minFreeBytes: 64 * 1024 * 1024,
    importTimeoutMs: 10_000,
    exportJobTtlMs: 7 * 24 * HOUR,
    generationJobTtlMs: HOUR,
    idempotencyTtlMs: 24 * HOUR,
    metrics: true,
    summaryIntervalMs: 60_000,
    jobs: {
      concurrency: availableParallelism(),
      expressSlots: 1,
      deadlineMs: 60_000,
      leaseMs: 30_000,
      scanIntervalMs: 2_000,
      maxAttempts: 3,
      maxPages: 5_000,
      maxPdfBytes: 200 * 1024 * 1024,
      shutdownGraceMs: 10_000,
      progressIntervalMs: 250,
    },
    http: defaultHttpLimits(),
    events: { pollMs: 250, heartbeatMs: 15_000, maxStreamMs: 10 * 60_000 },
    quotas: {
      maxActiveExportJobsPerUser: 1_000,
      maxActiveGenerationJobsPerUser: 1_000,
      maxStoredBytesPerUser: 1024 * 1024 * 1024,
    },
  };
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  // Safe integers only: larger ones are not exact, and a database column cannot take some of them.
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function onOffFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`${name} must be "on" or "off", got "${raw}"`);
}

// --- Backends: NOTEPAD_DB and NOTEPAD_FILES (docs/SCALING.md). -----------------------------

const DEFAULT_DB_POOL = 10;
/** Anything that starts like a URL: it must be one we know, never taken for a file name. */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function databaseFromEnv(env: NodeJS.ProcessEnv, base: DatabaseConfig): DatabaseConfig {
  const raw = env.NOTEPAD_DB;
  const poolSize = intFrom(env, 'NOTEPAD_DB_POOL', DEFAULT_DB_POOL, 1);
  // At least 1 ms: 0 would mean "do not wait" to SQLite and "wait forever" to PostgreSQL.
  const lockTimeoutMs = intFrom(env, 'NOTEPAD_DB_LOCK_TIMEOUT_MS', base.lockTimeoutMs, 1);
  if (raw === undefined || raw === '') return { ...base, lockTimeoutMs };
  if (!URL_LIKE.test(raw)) return { kind: 'sqlite', path: raw, lockTimeoutMs };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`NOTEPAD_DB is not a valid URL: "${redactUrl(raw)}"`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`NOTEPAD_DB must be a SQLite file path or a postgres:// or postgresql:// URL, got a ${url.protocol}// URL`);
  }
  if (!url.hostname) throw new Error(`NOTEPAD_DB must name the PostgreSQL host, got "${redactUrl(raw)}"`);
  return { kind: 'postgres', url: raw, poolSize, lockTimeoutMs };
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

// S3's bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function filesFromEnv(env: NodeJS.ProcessEnv, base: FilesConfig): FilesConfig {
  const raw = env.NOTEPAD_FILES;
  if (raw === undefined || raw === '') return base;
  if (!URL_LIKE.test(raw)) return { kind: 'local', dir: raw };
  if (!raw.startsWith('s3://')) throw new Error(`NOTEPAD_FILES must be a directory or an s3://bucket/optional/prefix URL, got "${raw}"`);
  const [bucket = '', ...segments] = raw.slice('s3://'.length).replace(/\/+$/, '').split('/');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new Error(`NOTEPAD_FILES: "${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  }
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new Error(`NOTEPAD_FILES: the key prefix of "${raw}" has an empty, "." or ".." segment`);
  }
  const region = env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION must be set when NOTEPAD_FILES is an s3:// URL');
  const endpoint = env.AWS_ENDPOINT_URL_S3 || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new Error(`AWS_ENDPOINT_URL_S3 must be an http:// or https:// URL, got "${endpoint}"`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither, for the SDK\'s default credentials)');
  }
  return {
    kind: 's3',
    bucket,
    prefix: segments.length ? `${segments.join('/')}/` : '',
    region,
    endpoint,
    forcePathStyle: trueFalseFrom(env, 'NOTEPAD_S3_FORCE_PATH_STYLE', false),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
  };
}

function trueFalseFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Error(`${name} must be "true" or "false", got "${raw}"`);
}

// -------------------------------------------------------------------------------------------

/** Reads the configuration from the environment; a bad value stops the start with a clear message. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const base = defaultConfig();
  const role = env.NOTEPAD_ROLE ?? base.role;
  if (role !== 'all' && role !== 'api' && role !== 'runner') {
    throw new Error(`NOTEPAD_ROLE must be one of all, api, runner; got "${role}"`);
  }
  return {
    ...base,
    database: databaseFromEnv(env, base.database),
    files: filesFromEnv(env, base.files),
    host: env.HOST || base.host,
    port: intFrom(env, 'PORT', base.port),
    logLevel: env.LOG_LEVEL || base.logLevel,
    role,
    bodyLimit: intFrom(env, 'NOTEPAD_BODY_LIMIT', base.bodyLimit, 1),
    minFreeBytes: intFrom(env, 'NOTEPAD_MIN_FREE_BYTES', base.minFreeBytes),
    importTimeoutMs: intFrom(env, 'NOTEPAD_IMPORT_TIMEOUT_MS', base.importTimeoutMs, 1),
    idempotencyTtlMs: intFrom(env, 'NOTEPAD_IDEMPOTENCY_TTL_MS', base.idempotencyTtlMs, 1),
    metrics: onOffFrom(env, 'NOTEPAD_METRICS', base.metrics),
    summaryIntervalMs: intFrom(env, 'NOTEPAD_SUMMARY_INTERVAL_MS', base.summaryIntervalMs),
    jobs: {
      ...base.jobs,
      concurrency: intFrom(env, 'NOTEPAD_JOB_CONCURRENCY', base.jobs.concurrency, 1),
      expressSlots: intFrom(env, 'NOTEPAD_EXPRESS_SLOTS', base.jobs.expressSlots),
      deadlineMs: intFrom(env, 'NOTEPAD_JOB_DEADLINE_MS', base.jobs.deadlineMs, 1),
      leaseMs: intFrom(env, 'NOTEPAD_JOB_LEASE_MS', base.jobs.leaseMs, 100),
      maxPages: intFrom(env, 'NOTEPAD_MAX_PAGES', base.jobs.maxPages, 1),
      maxPdfBytes: intFrom(env, 'NOTEPAD_MAX_PDF_BYTES', base.jobs.maxPdfBytes, 1),
      progressIntervalMs: intFrom(env, 'NOTEPAD_PROGRESS_INTERVAL_MS', base.jobs.progressIntervalMs),
    },
    http: httpLimitsFromEnv(env, base.http),
    events: {
      pollMs: intFrom(env, 'NOTEPAD_EVENTS_POLL_MS', base.events.pollMs, 10),
      heartbeatMs: intFrom(env, 'NOTEPAD_EVENTS_HEARTBEAT_MS', base.events.heartbeatMs, 10),
      maxStreamMs: intFrom(env, 'NOTEPAD_EVENTS_MAX_STREAM_MS', base.events.maxStreamMs, 10),
    },
    quotas: {
      maxActiveExportJobsPerUser: intFrom(env, 'NOTEPAD_MAX_ACTIVE_EXPORTS_PER_USER', base.quotas.maxActiveExportJobsPerUser, 1),
      maxActiveGenerationJobsPerUser: intFrom(env, 'NOTEPAD_MAX_ACTIVE_GENERATIONS_PER_USER', base.quotas.maxActiveGenerationJobsPerUser, 1),
      maxStoredBytesPerUser: intFrom(env, 'NOTEPAD_MAX_STORED_BYTES_PER_USER', base.quotas.maxStoredBytesPerUser, 1),
    },
  };
}
