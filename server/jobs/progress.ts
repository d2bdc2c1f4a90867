/**
 * ExportJob.progress (an extension, docs/api.md): what the attempt rendering a job has got
 * to, written to its row so that every process sharing the database answers it. Page counts
 * arrive as fast as the worker lays pages out; they are written at most once per
 * `jobs.progressIntervalMs` per job (by the injected clock), so progress never becomes the
 * database's main load. The move to `storing` is written at once: it happens once per attempt.
 * Like every write of an attempt, a write only lands while the attempt holds the live lease.
 */
import type { Deps } from '../deps.js';
import type { Attempt, RenderProgress } from './store.js';

export interface ProgressWriter {
  /** The pages rendered so far: written unless the last write is more recent than the interval. */
  pages(pagesRendered: number): void;
  /** The render is done: storing its bytes (written at once). */
  storing(pagesRendered: number): void;
}

/** For an attempt whose claim has just written `rendering`, 0 pages. */
export function createProgressWriter(deps: Deps, attempt: Attempt): ProgressWriter {
  const intervalMs = deps.config.jobs.progressIntervalMs;
  // The claim wrote the first progress an instant ago.
  let lastWriteAt = deps.now();
  let written = 0;
  let stage: RenderProgress['stage'] = 'rendering';

  const write = (progress: RenderProgress, now: number) => {
    lastWriteAt = now;
    written = progress.pagesRendered;
    stage = progress.stage;
    // Progress is advisory: a busy database must not fail the render; the next write catches up.
    deps.stores.jobs.writeProgress(attempt, now, progress).then(
      (written) => {
        if (written) deps.jobEvents.emit({ type: 'progress', kind: 'export', rid: attempt.rid });
      },
      (error: unknown) => deps.logger.warn({ err: error, exportJobRid: attempt.rid }, 'could not record export progress'),
    );
  };

  return {
    pages(pagesRendered) {
      if (stage !== 'rendering' || pagesRendered <= written) return;
      const now = deps.now();
      if (now - lastWriteAt < intervalMs) return;
      write({ stage: 'rendering', pagesRendered }, now);
    },
    storing(pagesRendered) {
      write({ stage: 'storing', pagesRendered }, deps.now());
    },
  };
}
