/**
 * `Prefer: wait=N` on exportJobs.get (an extension, docs/api.md "Extensions"; RFC 7240): the
 * answer comes as soon as the job is finished, or after N seconds with its state then. A
 * job this process runs ends with a job event (job-events.ts) naming it; a runner in another
 * process is seen by a cheap poll of the job's status. One timer per waiting request.
 */
import { performance } from 'node:perf_hooks';
import type { ExportJob } from '../contract/api.js';
import type { Deps } from '../deps.js';
import type { Principal } from './auth.js';

export const PREFER_HEADER = 'Prefer';
export const PREFERENCE_APPLIED_HEADER = 'Preference-Applied';
/** A longer wait is cut to this. */
export const MAX_WAIT_SECONDS = 60;
/** How often a waiting request reads its job's status (the fallback for runners elsewhere). */
export const WAIT_POLL_MS = 250;

/**
 * The seconds a `Prefer` header asks to wait (capped at MAX_WAIT_SECONDS), or undefined: no
 * `wait` preference, a malformed one (not whole seconds) or `wait=0`. Other preferences are
 * ignored; of several `wait`s the first counts (RFC 7240, section 2).
 */
export function waitPreferenceOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const preferences = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (const preference of preferences) {
    const [head = ''] = preference.split(';');
    const match = /^\s*wait\s*(?:=\s*(.*?))?\s*$/i.exec(head);
    if (!match) continue;
    const value = /^(?:(\d+)|"(\d+)")$/.exec(match[1] ?? '');
    const seconds = value ? Number(value[1] ?? value[2]) : 0;
    return seconds > 0 ? Math.min(seconds, MAX_WAIT_SECONDS) : undefined;
  }
  return undefined;
}

let activeWaits = 0;
/** Requests waiting now: each holds one timer and one job-events listener. */
export const activeExportJobWaits = (): number => activeWaits;

/**
 * Resolves when `job` (as just answered to `principal`) is no longer running, after `seconds`,
 * or when `signal` aborts (the client went away), whichever comes first; then nothing of the
 * wait is left (timer, listener). The caller reads the job again for its answer.
 */
export function waitForExportJobEnd(deps: Deps, principal: Principal, job: ExportJob, seconds: number, signal: AbortSignal): Promise<void> {
  if (job.status.type !== 'running' || signal.aborted) return Promise.resolve();
  const rid = job.rid;
  return new Promise<void>((resolve) => {
    activeWaits++;
    const deadline = performance.now() + seconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', finish);
      activeWaits--;
      resolve();
    };
    const unsubscribe = deps.jobEvents.subscribe((event) => {
      // The job's end only: a progress event leaves it running.
      if (event.kind === 'export' && (event.type === 'succeeded' || event.type === 'failed') && event.rid === rid) finish();
    });
    signal.addEventListener('abort', finish, { once: true });
    const stillRunning = async () => (await deps.stores.exports.get(rid, principal.userId, deps.now()))?.status === 'running';
    const tick = async () => {
      if (deadline - performance.now() <= 0) return finish();
      // A failing read ends the wait: the caller reads the job again and answers (or errs) as a get does.
      const running = await stillRunning().catch(() => false);
      const left = deadline - performance.now();
      if (done) return;
      if (left <= 0 || !running) return finish();
      timer = setTimeout(() => void tick(), Math.min(WAIT_POLL_MS, left));
    };
    timer = setTimeout(() => void tick(), Math.min(WAIT_POLL_MS, seconds * 1000));
  });
}
