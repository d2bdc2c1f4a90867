/**
 * An export job's row as the API answers it (get, list, cancel, events, watch): its status
 * and, while it runs, its progress. Free of Deps, so the watchers (export-job-watchers.ts)
 * can build answers without importing the services that need them.
 */
import type { ExportJob, ExportJobStatus } from '../contract/api.js';

/** The columns an ExportJob answer is built from (statements.ts EXPORT_JOB_ANSWER). */
export interface ExportJobAnswerRow {
  rid: string;
  status: 'running' | 'succeeded' | 'failed';
  fileRid: string | null;
  errorMessage: string | null;
  errorCode: string | null;
  errorInstanceId: string | null;
  progressStage: 'rendering' | 'storing' | null;
  pagesRendered: number;
}

/**
 * The ExportJob get, list, cancel, events and watch answer: the status and, while it runs,
 * its progress (an extension). create answers Foundry's shape alone: the job has just been queued.
 */
export function exportJobAnswerOf(row: ExportJobAnswerRow): ExportJob {
  const status = exportJobStatusOf(row);
  if (status.type !== 'running') return { rid: row.rid, status };
  return { rid: row.rid, status, progress: { stage: row.progressStage ?? 'queued', pagesRendered: row.pagesRendered } };
}

export function exportJobStatusOf(row: {
  status: 'running' | 'succeeded' | 'failed';
  fileRid: string | null;
  errorMessage: string | null;
  errorCode: string | null;
  errorInstanceId: string | null;
}): ExportJobStatus {
  if (row.status === 'succeeded' && row.fileRid) return { type: 'succeeded', fileRid: row.fileRid };
  if (row.status === 'failed') {
    return {
      type: 'failed',
      errorMessage: row.errorMessage ?? 'The export failed.',
      ...(row.errorCode ? { errorCode: row.errorCode } : {}),
      ...(row.errorInstanceId ? { errorInstanceId: row.errorInstanceId } : {}),
    };
  }
  return { type: 'running' };
}
