import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createNotepadClient, exportPdf, type ExportJobProgress } from '../client/index.js';
import { exportJobs } from '../db/schema.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf, type PagesRendered } from '../server/render/render-pdf.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';
import { startApiServer, type ApiServer } from './live-server.js';

/**
 * exportPdf in the typed client: create (one idempotency key per call), follow by watch
 * (polling if the subscription fails), onProgress, abort cancels the job, the PDF's bytes.
 */

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;
let server: ApiServer<SqliteTestEnv>;
let runner: JobRunner;
let owner: { userId: string; token: string };
let documentRid: string;
/** The render in flight, stepped by the test. */
let render: { started: boolean; pages?: PagesRendered; finish?: () => void };

/** A renderer that waits for the test (or an abort), reporting pages when told. */
const steppedRender: Renderer = (request, options) => {
  render.started = true;
  render.pages = options.onPages;
  return new Promise((resolve, reject) => {
    render.finish = () => renderPdf(request).then(resolve, reject);
    options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
  });
};

beforeEach(async () => {
  render = { started: false };
  server = await startApiServer({ now: Date.now, config: { jobs: { progressIntervalMs: 0, concurrency: 1 }, events: { pollMs: 20 } } }, createSqliteTestEnv);
  runner = createJobRunner({ deps: server.env.deps, files: server.env.files, render: steppedRender });
  runner.start();
  server.env.deps.jobEvents.subscribe((event) => {
    if (event.type === 'created') runner.notify();
  });
  owner = await seedUser(server.env.deps, { name: 'Owner' });
  documentRid = await seedDocument(server.env.deps, owner.userId);
});
afterEach(async () => {
  await runner.stop(0);
  await server.close();
});

const request = () => ({ exportJobSource: { type: 'documentSource' as const, documentRid }, exportJobTarget: target });
const jobs = () => server.env.db.select().from(exportJobs).where(eq(exportJobs.creatorId, owner.userId)).all();

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

describe('exportPdf', () => {
  it('follows the job by watch, tells its progress, and returns the PDF', async () => {
    const told: ExportJobProgress[] = [];
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token });
    const exported = exportPdf(client, request(), { onProgress: (progress) => told.push(progress), timeoutMs: 30_000 });
    await until(() => render.started && told.some((p) => p.stage === 'rendering'), 'the client saw the render start');
    render.pages!(2);
    await until(() => told.some((p) => p.pagesRendered === 2), 'the client saw 2 pages');
    render.finish!();
    const result = await exported;
    expect(Buffer.from(result.bytes).subarray(0, 5).toString()).toBe('%PDF-');
    expect(result.job).toEqual({ rid: expect.any(String), status: { type: 'succeeded', fileRid: result.fileRid } });
    expect(told[0]).toEqual({ stage: expect.stringMatching(/^(queued|rendering)$/), pagesRendered: 0 });
    expect(told).toContainEqual({ stage: 'rendering', pagesRendered: 2 });
    // Followed by the subscription: no exportJobs.get polling happened.
    expect(server.env.logLines().filter((line) => typeof line.url === 'string' && line.url.includes('exportJobs.get'))).toEqual([]);
  });

  it('aborted mid-render, cancels the job on the server and rejects with the abort reason', async () => {
    const controller = new AbortController();
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token });
    const exported = exportPdf(client, request(), { signal: controller.signal, onProgress: () => {} }).catch((error: unknown) => error);
    await until(() => render.started, 'the render started');
    const reason = new Error('the user pressed Ctrl-C');
    controller.abort(reason);
    expect(await exported).toBe(reason);
    await until(() => jobs()[0]?.status === 'failed', 'the job was cancelled');
    expect(jobs()).toMatchObject([{ status: 'failed', errorCode: 'CANCELLED', fileRid: null }]);
  });

  it('with cancelOnAbort: false, leaves the job running when aborted', async () => {
    const controller = new AbortController();
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token });
    const exported = exportPdf(client, request(), { signal: controller.signal, cancelOnAbort: false }).catch((error: unknown) => error);
    await until(() => render.started, 'the render started');
    controller.abort(new Error('gone'));
    await exported;
    expect(jobs()).toMatchObject([{ status: 'running' }]);
  });

  it('retries a create whose answer was lost with the same idempotency key: one job', async () => {
    let creates = 0;
    const losingFirstAnswer: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).includes('notepad.exportJobs.create') && ++creates === 1) throw new TypeError('fetch failed: the connection was reset');
      return response;
    };
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token, fetch: losingFirstAnswer });
    const exported = exportPdf(client, request(), { timeoutMs: 30_000 });
    await until(() => render.started, 'the render started');
    render.finish!();
    const result = await exported;
    expect(creates).toBe(2);
    expect(jobs().map((job) => job.rid)).toEqual([result.job.rid]);
  });

  it('falls back to polling when the watch subscription cannot connect', async () => {
    const noEventStreams: typeof fetch = (input, init) =>
      String(input).includes('notepad.exportJobs.watch') ? Promise.reject(new TypeError('fetch failed: blocked by a proxy')) : fetch(input, init);
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token, fetch: noEventStreams });
    const told: ExportJobProgress[] = [];
    const exported = exportPdf(client, request(), { timeoutMs: 30_000, initialPollMs: 20, maxPollMs: 50, onProgress: (p) => told.push(p) });
    await until(() => render.started, 'the render started');
    render.finish!();
    const result = await exported;
    expect(result.job.status.type).toBe('succeeded');
    expect(server.env.logLines().some((line) => typeof line.url === 'string' && line.url.includes('exportJobs.get'))).toBe(true);
  });
});
