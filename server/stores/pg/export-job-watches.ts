/**
 * Which export jobs an API node follows, kept in export_job_watches (db/pg/coordination.ts)
 * for the trigger of migrations-pg/0006: a change of a job NOTIFYs only if a node follows
 * it. One row per job and node; the node's watchers (services/export-job-watchers.ts) say
 * which jobs they follow, and this module writes the difference in one statement, one at a
 * time, however many jobs start or stop being followed at once. Every ttl/3 it renews the
 * node's rows, rewrites the whole set (a write that failed is made then) and deletes any
 * node's rows past their expiry (a node that died without deleting its own). A row is a
 * request for hints, never what an answer depends on: a missing one costs a poll's latency,
 * a stale one an unneeded NOTIFY.
 */
import type { PgDb } from '../../../db/pg/index.js';
import type { ExportJobChangeSubscription } from '../index.js';

/**
 * How long a node's row lives without renewal: what a node that died leaves behind makes
 * changes of those jobs NOTIFY for at most this long (the trigger ignores expired rows), and
 * goes with the next renewal of any node.
 */
export const EXPORT_JOB_WATCH_TTL_MS = 60_000;

/**
 * The follows of a change subscription (stores/index.ts), kept as this node's rows: follow
 * resolves once its row has committed, or once writing it failed (reported to onError,
 * retried at the next renewal); an unfollowed rid's row goes with the next write; close
 * stops renewing and deletes this node's rows.
 */
export type ExportJobWatchRegistry = ExportJobChangeSubscription;

export interface ExportJobWatchRegistryOptions {
  /** This node's name in the table: unique per process. */
  node: string;
  /** How long a row lives unless renewed; renewed every third of it. */
  ttlMs: number;
  onError(error: Error): void;
}

/** Epoch ms by the database's clock: expiries are compared across nodes, whose clocks may differ. */
const DB_NOW_MS = `(extract(epoch from statement_timestamp()) * 1000)::bigint`;

/** Both writes' first part: the rids `$1` followed by node `$2`, living `$3` ms from now (inserted or renewed). */
const FOLLOW = `insert into export_job_watches (rid, node, expires_at)
  select rid, $2, ${DB_NOW_MS} + $3::bigint from unnest($1::text[]) as rid
  on conflict (rid, node) do update set expires_at = excluded.expires_at`;

/**
 * One change of the node's set: upserts `$1` (rids) for node `$2`, living `$3` ms, and deletes
 * the node's rows of `$4` (rids). The statement share-locks the rows of the jobs it starts to
 * follow and commits holding them: a change of a job already writing its row commits first
 * (the watcher's read after the follow sees it), and one that writes it later waits for this
 * commit and then sees the new row (migrations-pg/0006). Data-modifying CTEs always run;
 * the locking select is the statement itself, so it runs too. (The expiry sweep deletes job
 * rows in no set order: a deadlock with it fails this write, which the next renewal makes,
 * without the lock; the poll covers that job meanwhile.)
 */
const CHANGE = `with followed as (
  ${FOLLOW}
), unfollowed as (
  delete from export_job_watches where node = $2 and rid = any($4::text[])
)
select rid from export_jobs where rid = any($1::text[]) order by rid for share`;

/**
 * The renewal: upserts every rid the node follows (`$1`), living `$3` ms, deletes the node's
 * other rows, and deletes other nodes' rows past their expiry, skipping rows another node's
 * renewal holds, so two renewals never wait for each other.
 */
const RENEW = `with followed as (
  ${FOLLOW}
), unfollowed as (
  delete from export_job_watches where node = $2 and rid <> all($1::text[])
)
delete from export_job_watches where (rid, node) in (
  select rid, node from export_job_watches where node <> $2 and expires_at < ${DB_NOW_MS} for update skip locked
)`;

export function createExportJobWatchRegistry(db: PgDb, options: ExportJobWatchRegistryOptions): ExportJobWatchRegistry {
  const { node, ttlMs, onError } = options;
  /** What the node follows now, and what the table holds for it as far as we know. */
  const wanted = new Set<string>();
  const written = new Set<string>();
  /** Callers of follow waiting for a write that includes their rid. */
  let waiting: Array<() => void> = [];
  let renewDue = false;
  let writing: Promise<void> | undefined;
  let closed = false;

  /** One write of what changed (or, when due, the renewal); false if it failed. */
  async function writeOnce(): Promise<boolean> {
    const settled = waiting;
    waiting = [];
    const renew = renewDue;
    renewDue = false;
    const target = [...wanted];
    try {
      if (renew) {
        await db.$client.query({ name: 'export_job_watches_renew', text: RENEW, values: [target, node, ttlMs] });
      } else {
        const added = target.filter((rid) => !written.has(rid));
        const removed = [...written].filter((rid) => !wanted.has(rid));
        if (added.length > 0 || removed.length > 0) {
          await db.$client.query({ name: 'export_job_watches_change', text: CHANGE, values: [added, node, ttlMs, removed] });
        }
      }
      written.clear();
      for (const rid of target) written.add(rid);
      return true;
    } catch (error) {
      // The next renewal rewrites the whole set; until then, those jobs are seen at the poll.
      if (!closed) onError(error as Error);
      return false;
    } finally {
      for (const settle of settled) settle();
    }
  }

  /** Writes until nothing is left to write, or a write fails (the database is away: no retry loop); one write in flight at a time. */
  function schedule(): Promise<void> {
    writing ??= (async () => {
      // After the current turn: a burst of follows and unfollows costs one write.
      await new Promise((resolve) => setImmediate(resolve));
      while (!closed && (waiting.length > 0 || renewDue || differs())) {
        if (await writeOnce()) continue;
        // Whoever asked meanwhile is told now, as if their write had failed too.
        for (const settle of waiting.splice(0)) settle();
        break;
      }
      writing = undefined;
    })();
    return writing;
  }

  const differs = () => wanted.size !== written.size || [...wanted].some((rid) => !written.has(rid));

  const renewal = setInterval(() => {
    renewDue = true;
    void schedule();
  }, Math.max(1, Math.floor(ttlMs / 3))).unref();

  return {
    follow(rid) {
      if (closed) return Promise.resolve();
      wanted.add(rid);
      const done = new Promise<void>((resolve) => waiting.push(resolve));
      void schedule();
      return done;
    },
    unfollow(rid) {
      if (closed || !wanted.delete(rid)) return;
      void schedule();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(renewal);
      await writing;
      for (const settle of waiting.splice(0)) settle();
      try {
        await db.$client.query('delete from export_job_watches where node = $1', [node]);
      } catch {
        // Shutting down: the rows expire.
      }
    },
  };
}
