/**
 * Wake-ups between processes on PostgreSQL: a create NOTIFYs, every runner LISTENs and
 * claims at once instead of at its next scan; a change of an export job that some API node
 * follows NOTIFYs (a trigger, migrations-pg/0006; stores/pg/export-job-watches.ts keeps who
 * follows what), and that node reads it at once instead of at its next poll. Hints only: a notification can be lost (the listener was reconnecting),
 * so the runner's periodic scan and the watchers' poll stay the guarantee.
 */
import pg from 'pg';
import { PG_CONNECTION_OPTIONS } from '../../db/pg/index.js';
import type { JobKind } from './store.js';

/** The one channel of job wake-ups; the payload is the job kind. */
export const JOBS_CHANNEL = 'notepad_jobs';

/** Wakes every listener for `kind`. Inside a transaction, PostgreSQL delivers it at commit. */
export async function notifyJobs(queryable: Pick<pg.Pool | pg.PoolClient, 'query'>, kind: JobKind): Promise<void> {
  await queryable.query('select pg_notify($1, $2)', [JOBS_CHANNEL, kind]);
}

/** The channel of followed export jobs' changes (migrations-pg/0004, 0006): the payload is "rid:version". */
export const EXPORT_JOB_CHANGES_CHANNEL = 'notepad_export_job_changes';

export interface JobListenerOptions {
  connectionString: string;
  /**
   * A job of that kind may be claimable now; undefined: any kind (after a (re)connect,
   * since notifications sent while disconnected are lost).
   */
  onWake(kind: JobKind | undefined): void;
  /** The connection failed or could not be made; the listener retries after retryMs. */
  onError?(error: Error): void;
  /** Wait before each reconnect (default 1 s). */
  retryMs?: number;
}

export interface JobListener {
  /** Resolves once listening for the first time. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Wakes a runner for creates of other processes (JOBS_CHANNEL). */
export function listenForJobs(options: JobListenerOptions): JobListener {
  return listenOnChannel({
    ...options,
    channel: JOBS_CHANNEL,
    onMessage: (payload) => options.onWake(payload === 'export' || payload === 'generation' ? payload : undefined),
  });
}

export interface ExportJobChangeListenerOptions {
  connectionString: string;
  /** Export job `rid` changed to `version`; undefined: any job may have (after a (re)connect). */
  onChange(change: { rid: string; version: number } | undefined): void;
  onError?(error: Error): void;
  retryMs?: number;
}

/** Tells an API node of followed export jobs' changes made by any process (EXPORT_JOB_CHANGES_CHANNEL): every node hears each, and reads those it follows. */
export function listenForExportJobChanges(options: ExportJobChangeListenerOptions): JobListener {
  return listenOnChannel({
    ...options,
    channel: EXPORT_JOB_CHANGES_CHANNEL,
    onMessage(payload) {
      const at = payload?.lastIndexOf(':') ?? -1;
      const version = at > 0 ? Number(payload!.slice(at + 1)) : NaN;
      options.onChange(Number.isInteger(version) ? { rid: payload!.slice(0, at), version } : undefined);
    },
  });
}

interface ChannelListenerOptions {
  connectionString: string;
  channel: string;
  /** A notification's payload; undefined after each (re)connect: what was sent meanwhile is lost. */
  onMessage(payload: string | undefined): void;
  onError?(error: Error): void;
  retryMs?: number;
}

/**
 * LISTENs on a dedicated connection (never a pooled one: a pool would hand it to a query,
 * or close it when idle), and reconnects whenever it is lost, for as long as it is open.
 */
function listenOnChannel(options: ChannelListenerOptions): JobListener {
  const retryMs = options.retryMs ?? 1_000;
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const scheduleReconnect = (error: Error | undefined) => {
    if (error) options.onError?.(error);
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, retryMs);
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const next = new pg.Client({ connectionString: options.connectionString, ...PG_CONNECTION_OPTIONS });
    client = next;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (client === next) client = undefined;
      next.removeAllListeners('notification');
      void next.end().catch(() => {});
      scheduleReconnect(error);
    };
    next.on('error', (error) => onLost(error));
    next.on('end', () => onLost(closed ? undefined : new Error(`the ${options.channel} listener connection ended`)));
    next.on('notification', (message) => {
      if (message.channel === options.channel) options.onMessage(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${options.channel}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    markReady();
    // Whatever was sent while we were not listening is lost: look once now.
    options.onMessage(undefined);
  }

  void connect();
  return {
    ready,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
