/**
 * Export jobs for the API on PostgreSQL. A create reads its facts after locking its user's
 * usage row (shared.ts says why that is enough), asks decide, inserts, and NOTIFYs the
 * runners, in one transaction: the notification is delivered at commit, or never.
 * No group commit: each create is its own transaction (correctness first; PostgreSQL's
 * commits do not serialize on one file as SQLite's do).
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { documents, exportJobs, files, generationJobs, permissions } from '../../../db/pg/schema.js';
import type { GrantAction } from '../../contract/grants.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { ExportCreateFacts, ExportJobStore } from '../exports.js';
import type { LiveGenerationJob } from '../generations.js';
import { keyInsert, storedKey, usageFacts, type PgQueryable } from './shared.js';

/** The columns an ExportJob answer is built from, for get and list alike. */
const EXPORT_JOB_ANSWER = {
  rid: exportJobs.rid,
  status: exportJobs.status,
  fileRid: exportJobs.fileRid,
  errorMessage: exportJobs.errorMessage,
  errorCode: exportJobs.errorCode,
  errorInstanceId: exportJobs.errorInstanceId,
  progressStage: exportJobs.progressStage,
  pagesRendered: exportJobs.pagesRendered,
  version: exportJobs.version,
};

export async function liveGenerationJob(q: PgQueryable, rid: string, templateRid: string, now: number): Promise<LiveGenerationJob | undefined> {
  const [row] = await q
    .select({ rid: generationJobs.rid, creatorId: generationJobs.creatorId, status: generationJobs.status, errorMessage: generationJobs.errorMessage })
    .from(generationJobs)
    .where(and(eq(generationJobs.rid, rid), eq(generationJobs.templateRid, templateRid), gt(generationJobs.expiresAt, now)));
  return row;
}

async function exportJobOf(q: PgQueryable, rid: string, creatorId: string, now: number) {
  const [row] = await q
    .select(EXPORT_JOB_ANSWER)
    .from(exportJobs)
    .where(and(eq(exportJobs.rid, rid), eq(exportJobs.creatorId, creatorId), gt(exportJobs.expiresAt, now)));
  return row;
}

/** A caller's stored grants on a document and whether it exists, in one statement. */
async function documentFacts(q: PgQueryable, userId: string, documentRid: string): Promise<{ documentGrants: GrantAction[]; documentExists: boolean }> {
  const { rows } = await q.execute<{ grants: GrantAction[]; exists: boolean }>(
    sql`select array(select ${permissions.action} from ${permissions} where ${permissions.principalId} = ${userId} and ${permissions.resourceRid} = ${documentRid}) as grants, exists(select 1 from ${documents} where ${documents.rid} = ${documentRid}) as "exists"`,
  );
  return { documentGrants: rows[0]!.grants, documentExists: rows[0]!.exists };
}

export function createPgExportJobStore(db: PgDb): ExportJobStore {
  return {
    create(request, decide) {
      const { userId, source, keyed, now } = request;
      return db.transaction(async (tx) => {
        // The source's facts first, before the lock: documents are never deleted, and a grant
        // revoked meanwhile orders this create before the revoke, as it would on SQLite.
        const sourceFacts =
          source.type === 'documentSource'
            ? { ...(await documentFacts(tx, userId, source.documentRid)), generationJob: undefined }
            : { documentGrants: [], documentExists: false, generationJob: await liveGenerationJob(tx, source.generationJobRid, source.templateRid, now) };
        // Then the lock every other check of this create depends on (shared.ts), and what
        // must be read after it.
        const usage = await usageFacts(tx, userId);
        const stored = await storedKey(tx, keyed, now);
        const facts: ExportCreateFacts = {
          ...usage,
          ...sourceFacts,
          earlier: stored && { ...stored, job: await exportJobOf(tx, stored.jobRid, userId, now) },
        };
        const { answer, write } = decide(facts);
        if (write) {
          const { job, key } = write;
          const insertJob = tx.insert(exportJobs).values({
            rid: job.rid,
            creatorId: job.creatorId,
            sourceType: job.source.type,
            documentRid: job.source.type === 'documentSource' ? job.source.documentRid : null,
            generationJobRid: job.source.type === 'generationJobSource' ? job.source.generationJobRid : null,
            templateRid: job.source.type === 'generationJobSource' ? job.source.templateRid : null,
            userLocale: job.userLocale,
            userTimezone: job.userTimezone,
            status: 'running',
            createdAt: job.createdAt,
            expiresAt: job.expiresAt,
          });
          // One statement: the job, its key, and a hint for runners on other nodes
          // (jobs/pg-wakeups.ts), delivered only if this commits.
          await tx.execute(
            sql`with inserted_job as (${insertJob.getSQL()})${key ? sql`, inserted_key as (${keyInsert(tx, key).getSQL()})` : sql``} select pg_notify(${JOBS_CHANNEL}, 'export')`,
          );
        }
        return answer;
      });
    },
    get(rid, creatorId, now) {
      return exportJobOf(db, rid, creatorId, now);
    },
    async change(rid, now) {
      const [row] = await db
        .select(EXPORT_JOB_ANSWER)
        .from(exportJobs)
        .where(and(eq(exportJobs.rid, rid), gt(exportJobs.expiresAt, now)));
      return row;
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
