/**
 * Piscina worker entry: renders one PDF per task, off the main thread.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ContentTooLargeError, serializeContentTooLarge } from './errors.js';
import { renderPdf, type RenderRequest, type RenderResult } from './render-pdf.js';

export default async function renderTask(req: RenderRequest): Promise<RenderResult> {
  let result: RenderResult;
  try {
    result = await renderPdf(req);
  } catch (err) {
    // Structured clone would strip the class and every field but the message; a plain
    // object survives intact, and pool.ts turns it back into a ContentTooLargeError.
    if (err instanceof ContentTooLargeError) throw serializeContentTooLarge(err);
    throw err;
  }
  // Transfer the PDF's buffer (renderPdf allocates it exactly sized and unshared) instead
  // of copying megabytes through postMessage. Piscina unwraps the value on the other side,
  // so callers still receive a RenderResult.
  return move({ [transferableSymbol]: [result.pdf.buffer], [valueSymbol]: result }) as unknown as RenderResult;
}
