import { newRid, uuidOfRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { safeFilename } from '../files/content-disposition.js';
import { storageKeyFor, type FileStore } from '../files/store.js';
import type { PagesRendered, RenderRequest, RenderResult } from '../render/render-pdf.js';
import { isConnectionLost, isOutOfSpace } from '../storage-health.js';
import { JobFailure } from './failure.js';
import { attemptOf } from './lease.js';
import { createProgressWriter } from './progress.js';
import { hasStorageLeft, maxHeldAdmitting, storageQuotaFailure } from '../quotas.js';
import type { Attempt, CommitOutcome, ExportJobRow } from './store.js';

/**
 * Renders one PDF; told `onPages` as pages are laid out (ExportJob.progress), if it can say.
 * `express`: the job runs in an express slot (runner.ts); a pool renders it in its express lane.
 */
export type Renderer = (request: RenderRequest, options: { signal: AbortSignal; onPages?: PagesRendered; express?: boolean }) => Promise<RenderResult>;

/**
 * Renders one claimed export job and records its file. The bytes are written first; the
 * job row and file row then change in one transaction that only the holder of a live
 * lease can commit, so a job ends once and never owns two files. Bytes of a lost race
 * are removed. A user without storage left, or whose file would not fit, gets the job
 * failed instead (server/quotas.ts).
 */
export async function runExportJob(deps: Deps, job: ExportJobRow, io: { render: Renderer; files: FileStore; signal: AbortSignal; express?: boolean }): Promise<void> {
  const { quotas } = deps.config;
  const { storedBytes: held, source } = await deps.stores.jobs.exportInputs(job);
  if (!hasStorageLeft(quotas, held)) throw storageQuotaFailure(quotas, held);
  if ('missing' in source) throw new JobFailure('INTERNAL', source.missing);
  // Every figure of the finished-export log line comes from this one clock.
  const renderStart = deps.now();
  const progress = createProgressWriter(deps, attemptOf(job));
  try {
    const result = await io.render(
      {
        title: source.title,
        content: source.content,
        locale: job.userLocale,
        timezone: job.userTimezone,
        // Fixed once per job, so a retried render produces the same bytes.
        exportedAt: job.createdAt,
        limits: { maxPages: deps.config.jobs.maxPages, maxBytes: deps.config.jobs.maxPdfBytes },
      },
      { signal: io.signal, onPages: (pages) => progress.pages(pages), express: io.express ?? false },
    );
    if (result.missingCodePoints.length > 0) {
      deps.logger.warn(
        { exportJobRid: job.rid, codePoints: result.missingCodePoints.map((c) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`) },
        'characters not covered by any bundled font',
      );
    }
    io.signal.throwIfAborted();
    progress.storing(result.pageCount);
    const storeStart = deps.now();
    const stored = await io.files.write(storageKeyFor(uuidOfRid(job.rid), job.attempts), result.pdf).catch((error: unknown) => {
      if (!isOutOfSpace(error)) throw error;
      deps.storage.reportFull('files', 'an export could not be stored: no space left');
      throw new JobFailure('INTERNAL', 'The export could not be stored: the file store is full (no space left on device).', { cause: error });
    });
    deps.storage.reportWrite('files');
    const fileRid = newRid('file', deps.uuid());
    const now = deps.now();
    const file = {
      rid: fileRid,
      mediaType: 'application/pdf',
      filename: safeFilename(source.title),
      sizeBytes: stored.sizeBytes,
      sha256: stored.sha256,
      storageKey: stored.storageKey,
    };
    let commit: CommitOutcome;
    try {
      commit = await deps.stores.jobs.commitExportSuccess(job, attemptOf(job), now, file, maxHeldAdmitting(quotas, stored.sizeBytes));
    } catch (error) {
      // A connection lost during the commit leaves its outcome unknown: the COMMIT may have
      // reached the server and only its answer been lost, and then a file row names these
      // bytes. So they stay; if nothing names them, the sweep (the lease lapsed) or the next
      // attempt's success removes them.
      if (!isConnectionLost(error)) await io.files.remove(stored.storageKey);
      throw error;
    }
    if (commit.outcome !== 'committed') await io.files.remove(stored.storageKey);
    deps.storage.reportWrite('database');
    if (commit.outcome === 'refused') throw storageQuotaFailure(quotas, commit.storedBytes, stored.sizeBytes);
    if (commit.outcome === 'lease-lost') {
      deps.logger.warn({ exportJobRid: job.rid }, 'export job lease lost before commit; result discarded');
      return;
    }
    // Where an export's time went: waiting to be claimed, rendering (pool included), storing the bytes.
    const timings = {
      queuedMs: (job.startedAt ?? renderStart) - job.createdAt,
      renderMs: storeStart - renderStart,
      storeMs: now - storeStart,
      totalMs: now - job.createdAt,
    };
    const figures = { pages: result.pageCount, bytes: stored.sizeBytes, ...timings };
    // missingGlyphs: boxes in the PDF where no bundled font had the character (0 normally);
    // which characters, is the warning logged above.
    deps.logger.info({ exportJobRid: job.rid, fileRid, ...figures, missingGlyphs: result.missingGlyphs }, 'export job succeeded');
    // For metrics and the runner's summary line (job-events.ts): the same figures.
    deps.jobEvents.emit({ type: 'succeeded', kind: 'export', rid: job.rid, figures });
  } finally {
    // However the attempt ends: a deferred progress write must not land after it.
    progress.end();
  }
}

/** Ends a job `failed`, if this attempt still holds its live lease. */
export async function failExportJob(deps: Deps, attempt: Attempt, failure: JobFailure): Promise<boolean> {
  const failed = await deps.stores.jobs.failExport(attempt, deps.now(), failure);
  // For metrics and the runner's summary line (job-events.ts).
  if (failed) deps.jobEvents.emit({ type: 'failed', kind: 'export', errorCode: failure.errorCode, rid: attempt.rid });
  return failed;
}
