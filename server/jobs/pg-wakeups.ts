/**
 * Wake-ups between processes on PostgreSQL: a create NOTIFYs, every runner LISTENs and
 * claims at once instead of at its next scan. A hint only: a notification can be lost (the
 * listener was reconnecting, the sender's transaction rolled back after all), so the
 * runner's periodic scan stays the guarantee and a wake-up only makes it sooner.
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

/**
 * LISTENs on a dedicated connection (never a pooled one: a pool would hand it to a query,
 * or close it when idle), and reconnects whenever it is lost, for as long as it is open.
 */
export function listenForJobs(options: JobListenerOptions): JobListener {
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
    next.on('end', () => onLost(closed ? undefined : new Error('the job listener connection ended')));
    next.on('notification', (message) => {
      if (message.channel !== JOBS_CHANNEL) return;
      options.onWake(message.payload === 'export' || message.payload === 'generation' ? message.payload : undefined);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${JOBS_CHANNEL}`);
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
    options.onWake(undefined);
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
