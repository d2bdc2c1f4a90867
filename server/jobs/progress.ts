/**
 * ExportJob.progress (an extension, docs/api.md): what the attempt rendering a job has got
 * to, written to its row so that every process sharing the database answers it. Every
 * write is throttled to at most one per `jobs.progressIntervalMs` per job (by the injected
 * clock), so progress never becomes the database's main load:
 * - page counts arrive as fast as the worker lays pages out; one within the interval of the
 *   last write is dropped (a later count or the move to storing carries it);
 * - the move to `storing` within the interval is written when the interval is up, if the job
 *   is still storing then. Most exports store their bytes and commit within it: they never
 *   write `storing` (a write, a version and an event fewer per export); a slow store (a
 *   large file, an object store far away) still shows it.
 * Like every write of an attempt, a write only lands while the attempt holds the live lease.
 */
import type { Deps } from '../deps.js';
import type { Attempt, RenderProgress } from './store.js';

export interface ProgressWriter {
  /** The pages rendered so far: written unless the last write is more recent than the interval. */
  pages(pagesRendered: number): void;
  /** The render is done: storing its bytes (written once the interval since the last write is up). */
  storing(pagesRendered: number): void;
  /** The attempt is over (committed, failed or stopped): a deferred write is dropped. */
  end(): void;
}

/** For an attempt whose claim has just written `rendering`, 0 pages. */
export function createProgressWriter(deps: Deps, attempt: Attempt): ProgressWriter {
  const intervalMs = deps.config.jobs.progressIntervalMs;
  // The claim wrote the first progress an instant ago.
  let lastWriteAt = deps.now();
  let written = 0;
  let stage: RenderProgress['stage'] = 'rendering';
  let ended = false;
  let deferred: NodeJS.Timeout | undefined;

  const write = (progress: RenderProgress, now: number) => {
    lastWriteAt = now;
    written = progress.pagesRendered;
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
      if (ended || stage !== 'rendering' || pagesRendered <= written) return;
      const now = deps.now();
      if (now - lastWriteAt < intervalMs) return;
      write({ stage: 'rendering', pagesRendered }, now);
    },
    storing(pagesRendered) {
      if (ended || stage === 'storing') return;
      stage = 'storing';
      const now = deps.now();
      const wait = intervalMs - (now - lastWriteAt);
      if (wait <= 0) {
        write({ stage: 'storing', pagesRendered }, now);
        return;
      }
      // The rest of the interval on a timer: the injected clock says when a write is due, not when time passes.
      deferred = setTimeout(() => {
        deferred = undefined;
        if (!ended) write({ stage: 'storing', pagesRendered }, deps.now());
      }, wait);
      deferred.unref();
    },
    end() {
      ended = true;
      clearTimeout(deferred);
      deferred = undefined;
    },
  };
}
