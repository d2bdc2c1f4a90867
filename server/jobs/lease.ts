import { and, eq, gte, isNull, lt, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/index.js';
import type { Deps } from '../deps.js';
import { exportJobs, generationJobs } from '../../db/schema.js';

export type JobTable = typeof exportJobs | typeof generationJobs;

const p = sql.placeholder;

/**
 * `status = 'running'` is written as a literal, not a bound parameter: the export claim
 * index is partial on exactly that term, and SQLite re-prepares a statement on every
 * rebinding of a parameter its plan depends on.
 */
const claimable = (table: JobTable, now: SQL | number): SQL =>
  and(sql`${table.status} = 'running'`, or(isNull(table.leaseExpiresAt), lt(table.leaseExpiresAt, now)))!;

/**
 * The one definition of a live attempt: its lease runs up to and including its expiry
 * instant (the complement of `claimable`). Only a live attempt may renew, succeed, fail
 * or give its job back, and the sweeper keeps exactly the bytes of live attempts: once a
 * lease has lapsed, that attempt can never commit, so its bytes are safe to delete.
 */
export const isLeaseLive = (leaseExpiresAt: number | null, now: number): boolean => leaseExpiresAt !== null && leaseExpiresAt >= now;

/**
 * Sets the lease on the rows `which` selects, if nobody holds a live one. The conditional
 * UPDATE is the lock: two runners (threads or processes) racing for the same row cannot
 * both succeed, since the second one's WHERE no longer matches.
 */
function claimUpdate(db: Db, table: JobTable, which: SQL) {
  const now = sql`${p('now')}`;
  // Both job tables share the lease columns; drizzle cannot see that through the union.
  return db
    .update(table as typeof exportJobs)
    .set({
      leaseOwner: sql`${p('owner')}`,
      leaseExpiresAt: sql`${p('leaseExpiresAt')}`,
      attempts: sql`${table.attempts} + 1`,
      // Export jobs record when their first attempt began.
      ...(table === exportJobs ? { startedAt: sql`coalesce(${exportJobs.startedAt}, ${now})` } : {}),
    })
    .where(and(which, claimable(table, now)))
    .returning();
}

/**
 * The oldest running job nobody holds a live lease on. Written as SQL, not with
 * `.limit(1)`: drizzle binds the limit as a parameter, and SQLite re-prepares the
 * statement on every run when a subquery's LIMIT is bound (81 µs a claim instead of 5).
 */
const oldestClaimable = (table: JobTable): SQL =>
  sql`${table.rid} = (select ${table.rid} from ${table} where ${claimable(table, sql`${p('now')}`)} order by ${table.createdAt} asc limit 1)`;

/**
 * The runner's claims, prepared once per connection: a runner claims after every create
 * and every finished job, and building and preparing the UPDATE each time was most of
 * the event loop's own work per export.
 */
export function prepareClaims(db: Db) {
  return {
    exportJobs: claimUpdate(db, exportJobs, oldestClaimable(exportJobs)).prepare(),
    generationJobs: claimUpdate(db, generationJobs, oldestClaimable(generationJobs)).prepare(),
  };
}

const claimParams = (deps: Deps, owner: string) => {
  const now = deps.now();
  return { now, owner, leaseExpiresAt: now + deps.config.jobs.leaseMs };
};

/** Claims the oldest running job nobody holds a live lease on. */
export function claimNext<T extends JobTable>(deps: Deps, table: T, owner: string): T['$inferSelect'] | undefined {
  const claim = table === exportJobs ? deps.stmts.claims.exportJobs : deps.stmts.claims.generationJobs;
  return claim.all(claimParams(deps, owner))[0] as T['$inferSelect'] | undefined;
}

/** Claims one given job if nobody holds a live lease on it (the CLI's `generate --wait`). */
export function claimJob<T extends JobTable>(deps: Deps, table: T, rid: string, owner: string): T['$inferSelect'] | undefined {
  return claimUpdate(deps.db, table, eq(table.rid, rid)).all(claimParams(deps, owner))[0] as T['$inferSelect'] | undefined;
}

/** Extends our lease; false when the job is no longer ours (finished, or claimed by another runner). */
export function renewLease(deps: Deps, table: JobTable, rid: string, owner: string): boolean {
  const now = deps.now();
  const result = deps.db
    .update(table)
    .set({ leaseExpiresAt: now + deps.config.jobs.leaseMs })
    .where(ownedRunning(table, rid, owner, now))
    .run();
  return result.changes === 1;
}

/** Gives a claimed job back untouched (graceful shutdown): the next runner may start it at once. */
export function releaseLease(deps: Deps, table: JobTable, rid: string, owner: string): void {
  deps.db
    .update(table)
    .set({ leaseOwner: null, leaseExpiresAt: null, attempts: sql`max(${table.attempts} - 1, 0)` })
    .where(ownedRunning(table, rid, owner, deps.now()))
    .run();
}

/**
 * The WHERE of every lease write and outcome write: only the holder of a live lease
 * (isLeaseLive) may renew it or end the job, and only once. The arguments may be
 * placeholders, for the prepared success commit.
 */
export const ownedRunning = (
  table: JobTable,
  rid: string | Placeholder,
  owner: string | Placeholder,
  now: number | Placeholder,
): SQL => and(eq(table.rid, rid), eq(table.leaseOwner, owner), sql`${table.status} = 'running'`, gte(table.leaseExpiresAt, now))!;
