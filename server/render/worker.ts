/**
 * Piscina worker entry: renders one PDF per task, off the main thread.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { workerData, type MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ContentTooLargeError, RENDER_STOPPED, serializeContentTooLarge } from './errors.js';
import { renderPdf, RenderStopped, type RenderRequest, type RenderResult } from './render-pdf.js';
import type { RenderWorkerData } from './worker-data.js';

/**
 * Renders yield the CPU to the API: on a machine with fewer cores than busy threads, the
 * event loop that serves requests should not wait behind a long render. Linux schedules
 * threads individually, so this thread's nice value can be raised on its own; its lane
 * (pool.ts) says by how much.
 */
function lowerThisThreadsPriority(niceness: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, niceness);
  } catch {
    // Not Linux, or not permitted: renders simply keep the default priority.
  }
}
lowerThisThreadsPriority((workerData as RenderWorkerData | undefined)?.niceness ?? 10);

/**
 * One render: the request; if the caller follows its progress, a port told the pages rendered
 * so far; if it may cancel, a flag it sets (shared memory: read at each page break while the
 * render runs, when no message could be received).
 */
export interface RenderTask {
  request: RenderRequest;
  progress?: MessagePort;
  stop?: Int32Array;
}


export default async function renderTask({ request, progress, stop }: RenderTask): Promise<RenderResult> {
  let result: RenderResult;
  try {
    // A message per page is a few microseconds; the runner decides how often it is written down.
    result = await renderPdf(request, progress ? (pages) => progress.postMessage(pages) : undefined, stop ? () => Atomics.load(stop, 0) === 1 : undefined);
  } catch (err) {
    if (err instanceof RenderStopped) throw { code: RENDER_STOPPED, message: err.message };
    // Structured clone would strip the class and every field but the message; a plain
    // object survives intact, and pool.ts turns it back into a ContentTooLargeError.
    if (err instanceof ContentTooLargeError) throw serializeContentTooLarge(err);
    throw err;
  } finally {
    progress?.close();
  }
  // Transfer the PDF's buffer (renderPdf allocates it exactly sized and unshared) instead
  // of copying megabytes through postMessage. Piscina unwraps the value on the other side,
  // so callers still receive a RenderResult.
  return move({ [transferableSymbol]: [result.pdf.buffer], [valueSymbol]: result }) as unknown as RenderResult;
}
