import { and, asc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../deps.js';
import { exportJobs, generationJobs } from '../../db/schema.js';

export type JobTable = typeof exportJobs | typeof generationJobs;

const claimable = (table: JobTable, now: number): SQL =>
  and(eq(table.status, 'running'), or(isNull(table.leaseExpiresAt), lt(table.leaseExpiresAt, now)))!;

/**
 * Takes the lease on the job `which` selects, if nobody holds a live one. The conditional
 * UPDATE is the lock: two runners (threads or processes) racing for the same row cannot
 * both succeed, since the second one's WHERE no longer matches.
 */
function claimWhere<T extends JobTable>(deps: Deps, table: T, owner: string, which: (now: number) => SQL): T['$inferSelect'] | undefined {
  const now = deps.now();
  // Both job tables share the lease columns; drizzle cannot see that through the union.
  const rows = deps.db
    .update(table as typeof exportJobs)
    .set({
      leaseOwner: owner,
      leaseExpiresAt: now + deps.config.jobs.leaseMs,
      attempts: sqlIncrement(table),
      // Export jobs record when their first attempt began.
      ...(table === exportJobs ? { startedAt: sql`coalesce(${exportJobs.startedAt}, ${now})` } : {}),
    })
    .where(and(which(now), claimable(table, now)))
    .returning()
    .all() as T['$inferSelect'][];
  return rows[0];
}

/** Claims the oldest running job nobody holds a live lease on. */
export function claimNext<T extends JobTable>(deps: Deps, table: T, owner: string): T['$inferSelect'] | undefined {
  return claimWhere(deps, table, owner, (now) =>
    inArray(table.rid, deps.db.select({ rid: table.rid }).from(table).where(claimable(table, now)).orderBy(asc(table.createdAt)).limit(1)),
  );
}

/** Claims one given job if nobody holds a live lease on it (the CLI's `generate --wait`). */
export function claimJob<T extends JobTable>(deps: Deps, table: T, rid: string, owner: string): T['$inferSelect'] | undefined {
  return claimWhere(deps, table, owner, () => eq(table.rid, rid));
}

const sqlIncrement = (table: JobTable) => sql`${table.attempts} + 1`;

/** Extends our lease; false when the job is no longer ours (finished, or claimed by another runner). */
export function renewLease(deps: Deps, table: JobTable, rid: string, owner: string): boolean {
  const result = deps.db
    .update(table)
    .set({ leaseExpiresAt: deps.now() + deps.config.jobs.leaseMs })
    .where(ownedRunning(table, rid, owner))
    .run();
  return result.changes === 1;
}

/** Gives a claimed job back untouched (graceful shutdown): the next runner may start it at once. */
export function releaseLease(deps: Deps, table: JobTable, rid: string, owner: string): void {
  deps.db
    .update(table)
    .set({ leaseOwner: null, leaseExpiresAt: null, attempts: sql`max(${table.attempts} - 1, 0)` })
    .where(ownedRunning(table, rid, owner))
    .run();
}

/** The WHERE of every outcome write: only the lease holder may end a job, and only once. */
export const ownedRunning = (table: JobTable, rid: string, owner: string): SQL =>
  and(eq(table.rid, rid), eq(table.leaseOwner, owner), eq(table.status, 'running'))!;

