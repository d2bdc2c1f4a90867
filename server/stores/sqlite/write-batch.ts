/**
 * Group commit for the hot insert paths.
 *
 * Every SQLite commit in WAL mode appends the changed pages to the WAL with their frame
 * headers and takes and drops the WAL locks: several writes and lock calls per insert, the
 * largest part of an export-job create under load. Writes queued while the event loop
 * handles a burst of requests are committed together at the end of that turn (one
 * `setImmediate`), each in its own savepoint: one that fails is rolled back alone and
 * rejects only its own caller, and a failure that ends the transaction (a failed commit,
 * a full disk) rejects every caller of the batch, with nothing of it written. Callers
 * answer only after the commit, so an acknowledged write is as durable as before. A unit
 * of work runs inside the batch's IMMEDIATE transaction, so the reads it checks and the
 * rows it writes are one atomic step.
 */
import type Database from 'better-sqlite3';

export interface WriteBatcher {
  /** Runs `work` (synchronous statements, no awaits) in the next batch; resolves after the commit. */
  run<T>(work: () => T): Promise<T>;
}

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function createWriteBatcher(sqlite: Database.Database): WriteBatcher {
  let queue: Pending[] = [];
  // Prepared once: better-sqlite3's nested transaction() builds a new wrapper per call,
  // which costs a unit several times what these three statements do.
  const savepoint = sqlite.prepare('SAVEPOINT write_batch_unit');
  const release = sqlite.prepare('RELEASE write_batch_unit');
  const rollbackTo = sqlite.prepare('ROLLBACK TO write_batch_unit');

  const runUnit = (work: () => unknown): Outcome => {
    savepoint.run();
    try {
      const value = work();
      if (value instanceof Promise) throw new TypeError('a write-batch unit must be synchronous');
      release.run();
      return { ok: true, value };
    } catch (error) {
      // Some failures (disk full, I/O error, OR ROLLBACK) end the whole transaction, not
      // just the savepoint: then nothing of the batch may commit, and the rest must not run
      // on without a transaction.
      if (!sqlite.inTransaction) throw error;
      rollbackTo.run();
      release.run();
      return { ok: false, error };
    }
  };

  // Built once too, for the same reason; IMMEDIATE takes the write lock before any unit runs.
  const runBatch = sqlite.transaction((batch: Pending[]): Outcome[] => batch.map((item) => runUnit(item.work)));

  const flush = () => {
    const batch = queue;
    queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = runBatch.immediate(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  };

  return {
    run<T>(work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      });
    },
  };
}
