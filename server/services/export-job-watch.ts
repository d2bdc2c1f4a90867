/**
 * tRPC's `notepad.exportJobs.watch` (an extension, docs/api.md): a job's snapshots as an
 * async iterable, over the job's one shared watcher (export-job-watchers.ts). exportJobs.get's
 * checks run when it is called, before anything streams, so a caller who may not see the job
 * gets ExportJobNotFound as an error answer, not as an event. It ends after the job's last
 * snapshot, or when `signal` aborts (the client went away); either way its listener is gone.
 */
import type { Deps } from '../deps.js';
import type { Principal } from './auth.js';
import { getExportJob } from './export-jobs.js';
import type { ExportJobSnapshot } from './export-job-watchers.js';

export async function watchExportJob(
  deps: Deps,
  principal: Principal,
  input: { exportJobRid: string; lastEventId?: number | undefined },
  signal: AbortSignal | undefined,
): Promise<AsyncIterable<ExportJobSnapshot>> {
  await getExportJob(deps, principal, input.exportJobRid);
  const rid = input.exportJobRid;
  const after = input.lastEventId ?? -1;
  return {
    async *[Symbol.asyncIterator]() {
      const queue: ExportJobSnapshot[] = [];
      let ended = false;
      let wake: (() => void) | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      const end = () => {
        ended = true;
        notify();
      };
      signal?.addEventListener('abort', end, { once: true });
      const stop = deps.watchers.watch(rid, after, {
        onSnapshot(snapshot) {
          queue.push(snapshot);
          notify();
        },
        onEnd: end,
      });
      try {
        for (;;) {
          const snapshot = queue.shift();
          if (snapshot) {
            yield snapshot;
            if (snapshot.ended) return;
            continue;
          }
          if (ended || signal?.aborted) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        stop();
        signal?.removeEventListener('abort', end);
      }
    },
  };
}
