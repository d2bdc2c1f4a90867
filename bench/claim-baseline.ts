/**
 * The claim-at-scale baseline: the export-job claim as it was before fair claims (commit
 * 439bf9d, server/jobs/sqlite-store.ts), word for word as drizzle rendered it, and the
 * index it ran on. Kept here, not in server/, only to be measured against.
 *
 * It takes the oldest claimable job of anyone. Its index orders by lease expiry first, so
 * with the `is null or <` term SQLite scans every running job and sorts them for the
 * `order by created_at`: its cost grows with the queue.
 */
import type Database from 'better-sqlite3';

/** Parameters in order: now, owner, leaseExpiresAt, now, now. */
export const TODAYS_CLAIM_SQL = `update "export_jobs" set "started_at" = coalesce("export_jobs"."started_at", ?), "lease_owner" = ?, "lease_expires_at" = ?, "attempts" = "export_jobs"."attempts" + 1 where ("export_jobs"."rid" = (select "export_jobs"."rid" from "export_jobs" where ("export_jobs"."status" = 'running' and ("export_jobs"."lease_expires_at" is null or "export_jobs"."lease_expires_at" < ?)) order by "export_jobs"."created_at" asc limit 1) and ("export_jobs"."status" = 'running' and ("export_jobs"."lease_expires_at" is null or "export_jobs"."lease_expires_at" < ?))) returning *`;

/** The export-job indexes of migrations/0001_fair_claims.sql, undone: the claim indexes as they were. */
export function useTodaysClaimIndexes(sqlite: Database.Database): void {
  sqlite.exec(`
    DROP INDEX IF EXISTS export_jobs_queue_idx;
    DROP INDEX IF EXISTS export_jobs_lease_idx;
    DROP INDEX IF EXISTS export_jobs_started_idx;
    CREATE INDEX IF NOT EXISTS export_jobs_claim_idx ON export_jobs (lease_expires_at, created_at) WHERE status = 'running';
  `);
}
