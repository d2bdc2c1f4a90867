/**
 * A pool of worker threads that render PDFs, so a long render never blocks the event loop
 * that serves the API.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { workerEntry, workerExecArgv } from '../threads/worker-exec-argv.js';
import { RENDER_STOPPED, reviveRenderError } from './errors.js';
import type { PagesRendered, RenderRequest, RenderResult } from './render-pdf.js';
import type { RenderWorkerData } from './worker-data.js';
import type { RenderTask } from './worker.js';

export { ContentTooLargeError, isContentTooLarge } from './errors.js';

export interface RenderOptions {
  signal?: AbortSignal;
  /** Told the pages rendered so far as the render goes (ExportJob.progress). */
  onPages?: PagesRendered;
  /** Render in the express lane (a job of the runner's express slot, jobs/runner.ts). */
  express?: boolean;
}

/**
 * CPU priorities (Linux nice values) of the lanes' threads. Renders yield to the API's
 * event loop (nice 0); an express render (a user with nothing else rendering) takes most
 * of a core from the bulk lane's renders (nice 5 against nice 10 is about 3:1), so a small
 * export beside a flood takes little longer than alone, while the flood keeps the rest.
 */
export const RENDER_NICENESS = { bulk: 10, express: 5 } as const;

export interface RenderPool {
  /** Rejects with ContentTooLargeError past the request's limits, and with an AbortError when `signal` aborts. */
  render(req: RenderRequest, opts?: RenderOptions): Promise<RenderResult>;
  destroy(): Promise<void>;
  /** Worker threads of both lanes. */
  readonly threads: number;
  /** Workers rendering now: the renders in progress, at most `threads` (each worker renders one at a time). */
  readonly busy: number;
  /** Workers that have stopped so far: idle ones, and those a render ran out of memory or a cancel had to terminate. */
  readonly workersStopped: number;
}

/** What a cancelled render rejects with, as piscina's own abort did: an AbortError, its cause the signal's reason. */
function renderAborted(reason: unknown): Error {
  return new DOMException('The render was cancelled.', { name: 'AbortError', cause: reason });
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/**
 * How long a cancelled render may take to reach its next page break before its worker is
 * terminated instead. Stopping at a page break keeps the worker: terminating one can abort
 * the whole process (Node 20 asserts when a worker is torn down between creating a zlib
 * handle and initialising it, which pdfkit does for every stream), so it is kept for a
 * render stuck inside one page, within the second a cancel promises.
 */
const STOP_GRACE_MS = 500;
/**
 * Heap limits of each render worker. A runaway render takes down its own worker (which
 * Piscina replaces), not the process. V8 sizes its heap by these limits, so they also set
 * how much garbage a long render leaves uncollected: with these, a long render peaks lower
 * than with larger limits and is as fast, and the largest document allowed (maxPages)
 * still fits well inside them.
 */
export const RENDER_WORKER_LIMITS = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 24 } as const;

export function createRenderPool(
  opts: {
    threads?: number;
    /** Threads of the express lane (config jobs.expressSlots); 0: none, express renders use the bulk lane. */
    expressThreads?: number;
    idleTimeout?: number;
    limits?: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number };
  } = {},
): RenderPool {
  const limits = opts.limits ?? RENDER_WORKER_LIMITS;
  const bulkThreads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const expressThreads = Math.max(0, Math.floor(opts.expressThreads ?? 0));
  const lane = (threads: number, niceness: number) =>
    new Piscina<RenderTask, RenderResult>({
      filename: workerEntry(import.meta.url, 'worker').href,
      // One warm worker; the rest start on demand and stop again after idleTimeout.
      minThreads: 1,
      maxThreads: threads,
      idleTimeout: opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS,
      execArgv: workerExecArgv(import.meta.url),
      resourceLimits: { ...limits },
      workerData: { niceness } satisfies RenderWorkerData,
    });
  const bulk = lane(bulkThreads, RENDER_NICENESS.bulk);
  const express = expressThreads > 0 ? lane(expressThreads, RENDER_NICENESS.express) : undefined;
  const threads = bulkThreads + expressThreads;

  let inProgress = 0;
  let workersStopped = 0;
  for (const piscina of [bulk, express]) piscina?.on('workerDestroy', () => workersStopped++);
  return {
    threads,
    get busy() {
      return Math.min(inProgress, threads);
    },
    get workersStopped() {
      return workersStopped;
    },
    async render(req, options) {
      inProgress++;
      // The worker tells the pages rendered on a port of its own: the task's result comes only at the end.
      const channel = options?.onPages ? new MessageChannel() : undefined;
      const onPages = options?.onPages;
      if (channel && onPages) channel.port1.on('message', (pages: number) => onPages(pages));
      // Cancelling asks the render to stop at its next page break (the flag), and terminates
      // its worker only if that takes longer than STOP_GRACE_MS (`terminate`).
      const signal = options?.signal;
      const stop = signal ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
      const terminate = new AbortController();
      let grace: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (stop) Atomics.store(stop, 0, 1);
        grace = setTimeout(() => terminate.abort(signal?.reason), STOP_GRACE_MS);
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const piscina = options?.express && express ? express : bulk;
        const task: RenderTask = { request: req, ...(channel ? { progress: channel.port2 } : {}), ...(stop ? { stop } : {}) };
        const result = await piscina.run(task, { ...(signal ? { signal: terminate.signal } : {}), ...(channel ? { transferList: [channel.port2] } : {}) });
        // Finished after all, past its last page break: a cancelled render still answers as cancelled.
        if (signal?.aborted) throw renderAborted(signal.reason);
        return result;
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code === RENDER_STOPPED) throw renderAborted(signal?.reason);
        throw reviveRenderError(err, limits.maxOldGenerationSizeMb);
      } finally {
        clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
        inProgress--;
        channel?.port1.close();
      }
    },
    destroy: async () => {
      await Promise.all([bulk.destroy(), express?.destroy()]);
    },
  };
}
