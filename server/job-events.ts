/**
 * What happens to jobs, told to whoever listens (metrics, the runner's summary line): a job
 * created, and how each ended. The runner and the services emit; nothing they do depends on
 * a listener, and a listener that throws is logged, never passed on to the job.
 */
import type { JobErrorCode } from './jobs/failure.js';
import type { Log } from './log.js';

export type JobKind = 'export' | 'generation';

/** Where a finished export's time went, and its size: the figures of its `export job succeeded` log line. */
export interface ExportFigures {
  pages: number;
  bytes: number;
  /** From create to the first claim. */
  queuedMs: number;
  renderMs: number;
  storeMs: number;
  totalMs: number;
}

export type JobEvent =
  | { type: 'created'; kind: JobKind }
  // rid: which job, for whoever waits on it in this process (a get with `Prefer: wait`, a
  // runner rendering it: a cancel stops its render at once).
  | { type: 'succeeded'; kind: 'export'; rid: string; figures: ExportFigures }
  | { type: 'succeeded'; kind: 'generation' }
  | { type: 'failed'; kind: 'export'; errorCode: JobErrorCode; rid: string }
  // A running export's progress was written (jobs/progress.ts): wakes its event watchers here.
  | { type: 'progress'; kind: 'export'; rid: string }
  // A generation job's status has no errorCode, only a message.
  | { type: 'failed'; kind: 'generation' };

export type JobListener = (event: JobEvent) => void;

export interface JobEvents {
  emit(event: JobEvent): void;
  /** Listens until the returned function is called. */
  subscribe(listener: JobListener): () => void;
}

export function createJobEvents(log: Log): JobEvents {
  const listeners = new Set<JobListener>();
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          log.error({ err: error, event: event.type, kind: event.kind }, 'a job event listener failed');
        }
      }
    },
    subscribe(listener) {
      // Wrapped, so that the same function subscribed twice is told twice and unsubscribed once each.
      const entry: JobListener = (event) => listener(event);
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
}

/** Calls `notify` whenever a job is created: how a runner in this process hears of new work at once. */
export function notifyOnCreate(events: JobEvents, notify: () => void): () => void {
  return events.subscribe((event) => {
    if (event.type === 'created') notify();
  });
}
