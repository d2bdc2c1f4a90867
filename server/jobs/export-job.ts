import { exportJobs } from '../../db/schema.js';
import type { Content } from '../contract/content.js';
import { newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { safeFilename } from '../files/content-disposition.js';
import { storageKeyFor, type FileStore } from '../files/store.js';
import type { RenderRequest, RenderResult } from '../render/render-pdf.js';
import { JobFailure } from './failure.js';
import { ownedRunning } from './lease.js';

export type ExportJobRow = typeof exportJobs.$inferSelect;

export type Renderer = (request: RenderRequest, options: { signal: AbortSignal }) => Promise<RenderResult>;

interface ExportSource {
  title: string;
  content: Content;
}

function loadSource(deps: Deps, job: ExportJobRow): ExportSource {
  if (job.sourceType === 'documentSource' && job.documentRid) {
    const doc = deps.stmts.documentSource.get({ rid: job.documentRid });
    if (!doc) throw new JobFailure('INTERNAL', 'The document no longer exists.');
    return doc;
  }
  if (job.sourceType === 'generationJobSource' && job.generationJobRid) {
    const gen = deps.stmts.generationJobSource.get({ rid: job.generationJobRid });
    if (!gen?.content) throw new JobFailure('INTERNAL', 'The generation job no longer has content to export.');
    return { title: gen.title, content: gen.content };
  }
  throw new JobFailure('INTERNAL', 'The export job has no source.');
}

/**
 * Renders one claimed export job and records its file. The bytes are written first; the
 * job row and file row then change in one transaction that only the lease holder can
 * commit, so a job ends once and never owns two files. Bytes of a lost race are removed.
 */
export async function runExportJob(
  deps: Deps,
  job: ExportJobRow,
  owner: string,
  io: { render: Renderer; files: FileStore; signal: AbortSignal },
): Promise<void> {
  const source = loadSource(deps, job);
  const renderStart = performance.now();
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
    { signal: io.signal },
  );
  if (result.missingCodePoints.length > 0) {
    deps.logger.warn(
      { exportJobRid: job.rid, codePoints: result.missingCodePoints.map((c) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`) },
      'characters not covered by any bundled font',
    );
  }
  io.signal.throwIfAborted();
  const renderMs = performance.now() - renderStart;
  const stored = await io.files.write(storageKeyFor(job.rid.slice(-36), job.attempts), result.pdf);
  const storeMs = performance.now() - renderStart - renderMs;
  const fileRid = newRid('file', deps.uuid());
  const now = deps.now();
  let committed = false;
  try {
    committed = deps.db.$client.transaction(() => {
      const updated = deps.stmts.markExportJobSucceeded.run({ rid: job.rid, owner, fileRid, now });
      if (updated.changes !== 1) return false;
      deps.stmts.insertFile.run({
        rid: fileRid,
        exportJobRid: job.rid,
        ownerId: job.creatorId,
        mediaType: 'application/pdf',
        filename: safeFilename(source.title),
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        storageKey: stored.storageKey,
        createdAt: now,
        expiresAt: job.expiresAt,
      });
      return true;
    })();
  } finally {
    if (!committed) await io.files.remove(stored.storageKey);
  }
  if (committed) {
    // Where an export's time went: waiting to be claimed, rendering (pool included), storing the bytes.
    const timings = {
      queuedMs: (job.startedAt ?? now) - job.createdAt,
      renderMs: Math.round(renderMs),
      storeMs: Math.round(storeMs),
      totalMs: now - job.createdAt,
    };
    deps.logger.info({ exportJobRid: job.rid, fileRid, pages: result.pageCount, bytes: stored.sizeBytes, ...timings }, 'export job succeeded');
  }
  else deps.logger.warn({ exportJobRid: job.rid }, 'export job lease lost before commit; result discarded');
}

/** Ends a job `failed`, if it is still ours. */
export function failExportJob(deps: Deps, rid: string, owner: string, failure: JobFailure): boolean {
  const now = deps.now();
  const result = deps.db
    .update(exportJobs)
    .set({
      status: 'failed',
      errorMessage: failure.message,
      errorCode: failure.errorCode,
      errorInstanceId: failure.errorInstanceId,
      finishedAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
    })
    .where(ownedRunning(exportJobs, rid, owner, now))
    .run();
  return result.changes === 1;
}
