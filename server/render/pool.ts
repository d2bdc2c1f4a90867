/**
 * A pool of worker threads that render PDFs, so a long render never blocks the event loop
 * that serves the API.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerEntry, workerExecArgv } from '../threads/worker-exec-argv.js';
import { reviveRenderError } from './errors.js';
import type { RenderRequest, RenderResult } from './render-pdf.js';
import type { RenderWorkerData } from './worker-data.js';

export { ContentTooLargeError, isContentTooLarge } from './errors.js';

export interface RenderOptions {
  signal?: AbortSignal;
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
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
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
    new Piscina<RenderRequest, RenderResult>({
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
  return {
    threads,
    get busy() {
      return Math.min(inProgress, threads);
    },
    async render(req, options) {
      inProgress++;
      try {
        const piscina = options?.express && express ? express : bulk;
        return await piscina.run(req, options?.signal ? { signal: options.signal } : {});
      } catch (err) {
        throw reviveRenderError(err, limits.maxOldGenerationSizeMb);
      } finally {
        inProgress--;
      }
    },
    destroy: async () => {
      await Promise.all([bulk.destroy(), express?.destroy()]);
    },
  };
}
