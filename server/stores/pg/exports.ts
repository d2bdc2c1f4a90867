/**
 * Export jobs for the API on PostgreSQL. A create reads its facts after locking its user's
 * usage row (shared.ts says why that is enough), asks decide, inserts, and NOTIFYs the
 * runners, in one transaction: the notification is delivered at commit, or never. Creates
 * arriving together share one such transaction (export-create-batch.ts); `createOne` is a
 * create on its own, what a batch falls back to.
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { exportJobs, files } from '../../../db/pg/schema.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { Decide } from '../decide.js';
import type { ExportCreateFacts, ExportCreateRequest, ExportCreateWrite, ExportJobStore } from '../exports.js';
import { createExportCreateBatcher } from './export-create-batch.js';
import { documentFactsOf, EXPORT_JOB_ANSWER, exportJobOf, liveGenerationJob, newExportJobRow, pairKey } from './export-rows.js';
import { keyInsert, storedKey, usageFacts } from './shared.js';

export function createPgExportJobStore(db: PgDb): ExportJobStore {
  return {
    create: createExportCreateBatcher(db, (request, decide) => createOne(db, request, decide)),
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

/** One create in its own transaction. */
function createOne<Answer>(db: PgDb, request: ExportCreateRequest, decide: Decide<ExportCreateFacts, Answer, ExportCreateWrite>): Promise<Answer> {
  const { userId, source, keyed, now } = request;
  return db.transaction(async (tx) => {
    // The source's facts first, before the lock: documents are never deleted, and a grant
    // revoked meanwhile orders this create before the revoke, as it would on SQLite.
    const document = source.type === 'documentSource' ? (await documentFactsOf(tx, [{ userId, documentRid: source.documentRid }])).get(pairKey(userId, source.documentRid)) : undefined;
    const generationJob = source.type === 'generationJobSource' ? await liveGenerationJob(tx, source.generationJobRid, source.templateRid, now) : undefined;
    // Then the lock every other check of this create depends on (shared.ts), and what must be read after it.
    const usage = await usageFacts(tx, userId);
    const stored = await storedKey(tx, keyed, now);
    const facts: ExportCreateFacts = {
      ...usage,
      earlier: stored && { ...stored, job: await exportJobOf(tx, stored.jobRid, userId, now) },
      documentGrants: document?.grants ?? [],
      documentExists: document?.exists ?? false,
      generationJob,
    };
    const { answer, write } = decide(facts);
    if (write) {
      const insertJob = tx.insert(exportJobs).values(newExportJobRow(write.job));
      // One statement: the job, its key, and a hint for runners on other nodes (jobs/pg-wakeups.ts), delivered only if this commits.
      await tx.execute(
        sql`with inserted_job as (${insertJob.getSQL()})${write.key ? sql`, inserted_key as (${keyInsert(tx, write.key).getSQL()})` : sql``} select pg_notify(${JOBS_CHANNEL}, 'export')`,
      );
    }
    return answer;
  });
}
