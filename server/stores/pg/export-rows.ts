/**
 * What the export-job stores on PostgreSQL read and write in more than one place: the
 * answer columns, a job's row as inserted, the facts of a create's source.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { documents, exportJobs, generationJobs, permissions } from '../../../db/pg/schema.js';
import type { GrantAction } from '../../contract/grants.js';
import type { NewExportJob } from '../exports.js';
import type { LiveGenerationJob } from '../generations.js';
import type { PgQueryable } from './shared.js';

/** The columns an ExportJob answer is built from, for get and list alike. */
export const EXPORT_JOB_ANSWER = {
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

export async function exportJobOf(q: PgQueryable, rid: string, creatorId: string, now: number) {
  const [row] = await q
    .select(EXPORT_JOB_ANSWER)
    .from(exportJobs)
    .where(and(eq(exportJobs.rid, rid), eq(exportJobs.creatorId, creatorId), gt(exportJobs.expiresAt, now)));
  return row;
}

/** A job's row as a create inserts it. */
export function newExportJobRow(job: NewExportJob): typeof exportJobs.$inferInsert {
  return {
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
  };
}

/** A map key of two ids. */
export const pairKey = (a: string, b: string): string => `${a}\u0000${b}`;

/** Each (user, document)'s stored grants and whether the document exists, in one statement (by pairKey). */
export async function documentFactsOf(q: PgQueryable, pairs: Array<{ userId: string; documentRid: string }>): Promise<Map<string, { grants: GrantAction[]; exists: boolean }>> {
  const facts = new Map<string, { grants: GrantAction[]; exists: boolean }>();
  if (pairs.length === 0) return facts;
  const { rows } = await q.execute<{ user_id: string; document_rid: string; grants: GrantAction[]; exists: boolean }>(sql`
    select asked.user_id, asked.document_rid,
      array(select ${permissions.action} from ${permissions} where ${permissions.principalId} = asked.user_id and ${permissions.resourceRid} = asked.document_rid) as grants,
      exists(select 1 from ${documents} where ${documents.rid} = asked.document_rid) as "exists"
    from unnest(${sql.param(pairs.map((p) => p.userId))}::text[], ${sql.param(pairs.map((p) => p.documentRid))}::text[]) as asked(user_id, document_rid)`);
  for (const row of rows) facts.set(pairKey(row.user_id, row.document_rid), { grants: row.grants, exists: row.exists });
  return facts;
}
