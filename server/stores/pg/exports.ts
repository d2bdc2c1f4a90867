/**
 * Export jobs for the API on PostgreSQL. A create reads its facts after locking its user's
 * usage row (shared.ts says why that is enough), asks decide, inserts, and NOTIFYs the
 * runners, in one transaction: the notification is delivered at commit, or never. Creates
 * arriving together share one such transaction (export-create-batch.ts).
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { exportJobs, files } from '../../../db/pg/schema.js';
import type { ExportJobStore } from '../exports.js';
import { createExportCreateBatcher } from './export-create-batch.js';
import { EXPORT_JOB_ANSWER, exportJobOf } from './export-rows.js';

export function createPgExportJobStore(db: PgDb): ExportJobStore {
  return {
    create: createExportCreateBatcher(db),
    get(rid, creatorId, now) {
      return exportJobOf(db, rid, creatorId, now);
    },
    changes(rids, now) {
      return db
        .select(EXPORT_JOB_ANSWER)
        .from(exportJobs)
        .where(and(sql`${exportJobs.rid} = any(${sql.param(rids)}::text[])`, gt(exportJobs.expiresAt, now)));
    },
    async page({ creatorId, before, now, status, limit }) {
      return db
        .select({ ...EXPORT_JOB_ANSWER, createdAt: exportJobs.createdAt })
        .from(exportJobs)
        .where(
          and(
            eq(exportJobs.creatorId, creatorId),
            // Row comparison: the position (created_at, rid), newest first (export_jobs_creator_list_idx).
            sql`(${exportJobs.createdAt}, ${exportJobs.rid}) < (${before.createdAt}::bigint, ${before.rid}::text)`,
            gt(exportJobs.expiresAt, now),
            status === undefined ? undefined : eq(exportJobs.status, status),
          ),
        )
        .orderBy(desc(exportJobs.createdAt), desc(exportJobs.rid))
        .limit(limit);
    },
    async cancel({ rid, creatorId, now, errorMessage }) {
      // Takes the lease away too, so the attempt rendering it can neither renew nor commit.
      const result = await db
        .update(exportJobs)
        .set({ status: 'failed', errorCode: 'CANCELLED', errorMessage, finishedAt: now, leaseOwner: null, leaseExpiresAt: null, version: sql`${exportJobs.version} + 1` })
        .where(and(eq(exportJobs.rid, rid), eq(exportJobs.creatorId, creatorId), eq(exportJobs.status, 'running'), gt(exportJobs.expiresAt, now)));
      return result.rowCount === 1;
    },
    async file(rid, now) {
      const [row] = await db
        .select()
        .from(files)
        .where(and(eq(files.rid, rid), gt(files.expiresAt, now)));
      return row;
    },
  };
}
