/**
 * A summary line at `info`, once a minute by default (NOTEPAD_SUMMARY_INTERVAL_MS), so an
 * operator who only reads logs sees how the service is doing:
 * - the API (`api summary`): requests answered since the last line, by status class, and
 *   jobs created;
 * - the runner (`runner summary`): jobs that succeeded and failed (exports by errorCode) since
 *   the last line, and the queue now (waiting and running, from the database).
 * The timer and the clock are injected, so a test can drive the lines itself.
 */
import type { Deps } from '../deps.js';
import type { JobErrorCode } from '../jobs/failure.js';
import type { Log } from '../log.js';
import type { QueueDepths } from '../stores/operating.js';

/** setInterval and clearInterval, or a test's stand-in. */
export interface SummaryTimer {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Node's timers, unref'd: a summary never keeps a process alive. */
export const NODE_TIMER: SummaryTimer = {
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface SummaryOptions {
  log: Log;
  /** 0: no timer; lines are written only by flush(). */
  intervalMs: number;
  now: () => number;
  timer?: SummaryTimer;
}

export interface Summary {
  /** Starts counting afresh and writes the line (resolves once written: a line may read the database first). */
  flush(): Promise<void>;
  stop(): void;
}

export interface ApiSummary extends Summary {
  /** A request was answered with this status. */
  request(statusCode: number): void;
}

type StatusClass = '2xx' | '3xx' | '4xx' | '5xx';
const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx'];

/** Calls `write` every intervalMs with the time since the previous line. */
function every(options: SummaryOptions, write: (periodMs: number) => void | Promise<void>): Summary {
  const { intervalMs, now, timer = NODE_TIMER } = options;
  let since = now();
  const flush = async () => {
    const at = now();
    const periodMs = at - since;
    since = at;
    await write(periodMs);
  };
  const handle = intervalMs > 0 ? timer.setInterval(() => void flush(), intervalMs) : undefined;
  return {
    flush,
    stop: () => {
      if (handle !== undefined) timer.clearInterval(handle);
    },
  };
}

export function startApiSummary(options: SummaryOptions & { deps: Pick<Deps, 'jobEvents'> }): ApiSummary {
  let total = 0;
  const requests = new Map<StatusClass, number>();
  const created = { export: 0, generation: 0 };
  const unsubscribe = options.deps.jobEvents.subscribe((event) => {
    if (event.type === 'created') created[event.kind]++;
  });
  const summary = every(options, (periodMs) => {
    const byClass = Object.fromEntries(STATUS_CLASSES.map((c) => [c, requests.get(c) ?? 0]));
    options.log.info({ periodMs, requests: { total, ...byClass }, jobsCreated: { ...created } }, 'api summary');
    total = 0;
    requests.clear();
    created.export = 0;
    created.generation = 0;
  });
  return {
    request(statusCode) {
      total++;
      const statusClass = STATUS_CLASSES[Math.floor(statusCode / 100) - 2];
      if (statusClass) requests.set(statusClass, (requests.get(statusClass) ?? 0) + 1);
    },
    flush: summary.flush,
    stop() {
      summary.stop();
      unsubscribe();
    },
  };
}

export function startRunnerSummary(options: SummaryOptions & { deps: Pick<Deps, 'jobEvents' | 'stores'> }): Summary {
  const { deps, log } = options;
  let exportsSucceeded = 0;
  let generationsSucceeded = 0;
  let generationsFailed = 0;
  const exportsFailed = new Map<JobErrorCode, number>();
  const unsubscribe = deps.jobEvents.subscribe((event) => {
    if (event.type === 'succeeded') {
      if (event.kind === 'export') exportsSucceeded++;
      else generationsSucceeded++;
    } else if (event.type === 'failed') {
      if (event.kind === 'export') exportsFailed.set(event.errorCode, (exportsFailed.get(event.errorCode) ?? 0) + 1);
      else generationsFailed++;
    }
  });
  const summary = every(options, async (periodMs) => {
    // The counts of this period, taken before the queue is read: jobs that end meanwhile count in the next line.
    const counts = { exportsSucceeded, exportsFailed: Object.fromEntries(exportsFailed), generationsSucceeded, generationsFailed };
    exportsSucceeded = 0;
    generationsSucceeded = 0;
    generationsFailed = 0;
    exportsFailed.clear();
    let queue: QueueDepths | { error: string };
    try {
      queue = await deps.stores.operating.queueDepth(options.now());
    } catch (error) {
      // A busy or broken database must not silence the line: it says so instead.
      queue = { error: error instanceof Error ? error.message : String(error) };
    }
    log.info({ periodMs, ...counts, queue }, 'runner summary');
  });
  return {
    flush: summary.flush,
    stop() {
      summary.stop();
      unsubscribe();
    },
  };
}
