/**
 * What the export-job suites (progress, events, cancel, wait) share to hold a job mid-render:
 * a renderer the test steps by hand, and a bounded wait for a condition.
 */
import type { Renderer } from '../server/jobs/export-job.js';
import { renderPdf, type PagesRendered } from '../server/render/render-pdf.js';

/** Resolves once `condition` holds (polled every 5 ms for up to 10 s), or fails naming `what`. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** A renderer the test steps by hand: it reports pages when told, and finishes (really rendering) when told. */
export function steppedRender() {
  let onPages: PagesRendered | undefined;
  let finish: (() => void) | undefined;
  const render: Renderer = (request, options) => {
    onPages = options.onPages;
    return new Promise((resolve, reject) => {
      finish = () => renderPdf(request).then(resolve, reject);
    });
  };
  return { render, started: () => finish !== undefined, pages: (n: number) => onPages!(n), finish: () => finish!() };
}
