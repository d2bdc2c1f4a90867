/**
 * What the export-job stores on PostgreSQL read in more than one place: the answer columns,
 * a job by its creator, a generation job as an export's source.
 */
import { and, eq, gt } from 'drizzle-orm';
import { exportJobs, generationJobs } from '../../../db/pg/schema.js';
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
