/**
 * A pool of worker threads that render PDFs, so a long render never blocks the event loop
 * that serves the API.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { reviveRenderError } from './errors.js';
import type { RenderRequest, RenderResult } from './render-pdf.js';

export { ContentTooLargeError, isContentTooLarge } from './errors.js';

export interface RenderPool {
  /** Rejects with ContentTooLargeError past the request's limits, and with an AbortError when `signal` aborts. */
  render(req: RenderRequest, opts?: { signal?: AbortSignal }): Promise<RenderResult>;
  destroy(): Promise<void>;
  readonly threads: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
// A runaway render takes down its own worker (which Piscina replaces), not the process.
const WORKER_HEAP_LIMIT_MB = 1024;

export function createRenderPool(opts: { threads?: number; idleTimeout?: number } = {}): RenderPool {
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  // When this module runs as TypeScript, so must the worker; if the code is ever compiled
  // to JavaScript, the worker sits beside it as .js.
  const typescript = import.meta.url.endsWith('.ts');
  const piscina = new Piscina<RenderRequest, RenderResult>({
    filename: new URL(typescript ? './worker.ts' : './worker.js', import.meta.url).href,
    // One warm worker; the rest start on demand and stop again after idleTimeout.
    minThreads: 1,
    maxThreads: threads,
    idleTimeout: opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS,
    execArgv: typescript ? workerExecArgv() : undefined,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_LIMIT_MB },
  });

  return {
    threads,
    async render(req, options) {
      try {
        return await piscina.run(req, options?.signal ? { signal: options.signal } : {});
      } catch (err) {
        throw reviveRenderError(err);
      }
    },
    destroy: () => piscina.destroy(),
  };
}

/**
 * Worker threads do not inherit module loaders registered at run time, only the flags
 * they are started with. Under `tsx server/main.ts` tsx's `--import`/`--require` flags
 * are already in execArgv, and leaving execArgv undefined makes the worker inherit them.
 * Elsewhere (vitest transforms TypeScript in-process) the worker needs tsx itself,
 * resolved to a file URL so that it does not depend on the current directory.
 */
function workerExecArgv(): string[] | undefined {
  if (process.execArgv.some((arg) => /(^|[\\/@=])tsx([\\/]|$)/.test(arg))) return undefined;
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', loader];
}
