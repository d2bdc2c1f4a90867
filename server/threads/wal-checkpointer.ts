/**
 * Moves WAL checkpoints off the event loop.
 *
 * By default SQLite checkpoints inside whichever commit pushes the WAL past 1,000 pages,
 * and a checkpoint fsyncs the WAL and the database file: on the request path that is a
 * disk wait of milliseconds every few hundred creates, and most of the cost of an insert
 * under load. Here a worker thread with its own connection checkpoints on a timer, and the
 * API's connection checkpoints inline only as a fallback, if the WAL ever grows far past
 * what the worker keeps it at.
 *
 * A checkpoint that copies the whole WAL has a cost of its own on the API's connection: the
 * next commit starts the WAL over, and SQLite fsyncs the new WAL header inside that commit
 * (synchronous=NORMAL does so, so that a power loss cannot mix the old log with the new).
 * That is a disk wait on the request path once per complete round. So rounds run at the
 * base interval only while the WAL grows fast; while it stays short, each round waits twice
 * as long as the last, up to IDLE_INTERVAL_MS, and the WAL starts over that much less often.
 * Someone waiting on nextCheckpoint() gets a round at the next base tick.
 */
import { Piscina } from 'piscina';
import type Database from 'better-sqlite3';
import type { Log } from '../log.js';
import type { CheckpointResult, CheckpointTask } from './checkpoint-worker.js';
import { workerEntry, workerExecArgv } from './worker-exec-argv.js';

export type { CheckpointResult } from './checkpoint-worker.js';

/** SQLite's own default, restored when the checkpointer stops. */
const INLINE_AUTOCHECKPOINT_PAGES = 1_000;
/** The fallback while the worker runs: ~80 MB of WAL with 4 KiB pages. */
const FALLBACK_AUTOCHECKPOINT_PAGES = 20_000;
const DEFAULT_INTERVAL_MS = 200;
/** The longest wait between rounds while the WAL stays short. */
const IDLE_INTERVAL_MS = 2_000;
/** A WAL at least this long (SQLite's own autocheckpoint size) brings rounds back to the base interval. */
const BUSY_WAL_FRAMES = 1_000;
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface WalCheckpointer {
  /**
   * The outcome of the next checkpoint round to start after this call, so it covers every
   * commit made before it. Rejects if that round fails or the checkpointer stops first.
   */
  nextCheckpoint(): Promise<CheckpointResult>;
  stop(): Promise<void>;
}

export interface WalCheckpointerOptions {
  /** The API's connection, whose inline checkpoints this replaces. */
  sqlite: Database.Database;
  log: Log;
  intervalMs?: number;
}

export function startWalCheckpointer({ sqlite, log, intervalMs = DEFAULT_INTERVAL_MS }: WalCheckpointerOptions): WalCheckpointer {
  if (sqlite.memory) {
    return { nextCheckpoint: () => Promise.reject(new Error('an in-memory database has no WAL to checkpoint')), stop: async () => {} };
  }

  const pool = new Piscina<CheckpointTask, CheckpointResult>({
    filename: workerEntry(import.meta.url, 'checkpoint-worker').href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    execArgv: workerExecArgv(import.meta.url),
  });
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  // Once a checkpoint lets the WAL start over, its file is cut back to this size instead
  // of keeping the largest size it ever reached.
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);

  interface Waiter {
    resolve: (result: CheckpointResult) => void;
    reject: (error: unknown) => void;
  }
  let waiters: Waiter[] = [];
  let inFlight: Promise<void> | undefined;
  let lastFailure: string | undefined;
  /** How long after the last round the next one is due, and when that was. */
  let pause = intervalMs;
  let lastRoundAt = performance.now();
  const round = async () => {
    const covered = waiters;
    waiters = [];
    lastRoundAt = performance.now();
    try {
      const result = await pool.run({ path: sqlite.name });
      lastFailure = undefined;
      pause = result.walFrames >= BUSY_WAL_FRAMES ? intervalMs : Math.min(pause * 2, Math.max(intervalMs, IDLE_INTERVAL_MS));
      for (const waiter of covered) waiter.resolve(result);
    } catch (error) {
      // Retried on the next tick; while it keeps failing, the inline fallback bounds the WAL.
      pause = intervalMs;
      const message = (error as Error).message;
      if (message !== lastFailure) log.warn({ err: message }, 'WAL checkpoint failed');
      lastFailure = message;
      for (const waiter of covered) waiter.reject(error);
    }
  };
  const timer = setInterval(() => {
    if (inFlight || (waiters.length === 0 && performance.now() - lastRoundAt < pause - intervalMs / 2)) return;
    inFlight = round().finally(() => (inFlight = undefined));
  }, intervalMs);
  timer.unref();

  let stopped: Promise<void> | undefined;
  return {
    nextCheckpoint: () =>
      stopped
        ? Promise.reject(new Error('the WAL checkpointer has stopped'))
        : new Promise((resolve, reject) => waiters.push({ resolve, reject })),
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await inFlight;
        for (const waiter of waiters) waiter.reject(new Error('the WAL checkpointer has stopped'));
        waiters = [];
        await pool.destroy();
        if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_PAGES}`);
      })()),
  };
}
