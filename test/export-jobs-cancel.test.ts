import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { newRid } from '../server/contract/rids.js';
import { createDeps, leasesOf } from '../server/deps.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { attemptOf, claimNext } from '../server/jobs/lease.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createCaller } from '../server/routers/index.js';
import { CANCELLED_MESSAGE } from '../server/services/export-jobs.js';
import { createContextInner } from '../server/trpc.js';
import { callerError, createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';

/** A success commit's bound on the user's bytes that every commit fits under. */
const NO_QUOTA = Number.MAX_SAFE_INTEGER;

/** exportJobs.cancel, an extension (docs/api.md, "Extensions"), over REST and tRPC, and what it does to a render. */

let env: TestEnv;
let app: FastifyInstance;
let owner: { userId: string; token: string };
let other: { userId: string; token: string };
let documentRid: string;
const runners: JobRunner[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;
const CANCELLED = { type: 'failed', errorMessage: CANCELLED_MESSAGE, errorCode: 'CANCELLED' };

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: 300, deadlineMs: 20_000, concurrency: 1 } } });
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  owner = await seedUser(env.deps, { name: 'Owner' });
  other = await seedUser(env.deps, { name: 'Other' });
  documentRid = await seedDocument(env.deps, owner.userId);
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop(0);
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await app.close();
  await env.cleanup();
});

async function create(token = owner.token, doc = documentRid): Promise<string> {
  env.clock.advance(1);
  const response = await app.inject({
    method: 'POST',
    url: '/api/v2/notepad/exportJobs/create?preview=true',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid: doc }, exportJobTarget: target }),
  });
  expect(response.statusCode).toBe(200);
  return (response.json() as { rid: string }).rid;
}

async function cancel(rid: string, opts: { token?: string; payload?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? owner.token}` };
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const response = await app.inject({
    method: 'POST',
    url: `/api/v2/notepad/exportJobs/${rid}/cancel?preview=true`,
    headers,
    ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

async function get(rid: string) {
  const response = await app.inject({ method: 'GET', url: `/api/v2/notepad/exportJobs/${rid}?preview=true`, headers: { authorization: `Bearer ${owner.token}` } });
  return response.json() as Record<string, unknown>;
}

const activeExports = async (userId: string) => (await env.rows.userUsage(userId))?.activeExportJobs;
/** Every key the file store holds; a write not yet in place (a local temp file) says so. */
const storedPdfs = async () => (await env.files.list()).map(({ storageKey, temp }) => (temp ? `(temp) ${storageKey}` : storageKey));
const exportJob = async (rid: string) => (await env.rows.exportJob(rid))!;

/** A renderer whose first call waits until aborted (as the render pool does); later calls render. */
function blockingFirstRender() {
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => {
    started = resolve;
  });
  let aborted!: (reason: unknown) => void;
  const abortedPromise = new Promise<unknown>((resolve) => {
    aborted = resolve;
  });
  let calls = 0;
  const render: Renderer = async (request, { signal }) => {
    if (++calls > 1) return renderPdf(request);
    started();
    return new Promise((_resolve, reject) => {
      signal.addEventListener(
        'abort',
        () => {
          aborted(signal.reason);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  };
  return { render, started: startedPromise, aborted: abortedPromise };
}

describe('REST POST exportJobs/{exportJobRid}/cancel', () => {
  it('ends a running job failed with errorCode CANCELLED, without a body, and frees its quota slot', async () => {
    const rid = await create();
    expect(await activeExports(owner.userId)).toBe(1);
    const result = await cancel(rid);
    expect(result).toEqual({ status: 200, body: { rid, status: CANCELLED } });
    expect(await get(rid)).toEqual({ rid, status: CANCELLED });
    expect(await activeExports(owner.userId)).toBe(0);
  });

  it('ignores a body, whatever it is', async () => {
    const rid = await create();
    expect((await cancel(rid, { payload: 'not json at all', contentType: 'text/plain' })).body).toEqual({ rid, status: CANCELLED });
    // A Content-Type that is no media type at all is ignored as well (Fastify alone would answer 415).
    const other = await create();
    expect((await cancel(other, { payload: '{}', contentType: 'garbage' })).body).toEqual({ rid: other, status: CANCELLED });
  });

  it('answers a finished job unchanged, and a second cancel the same as the first', async () => {
    const succeeded = await create();
    const fileRid = newRid('file');
    await env.rows.set('exportJobs', succeeded, { status: 'succeeded', fileRid });
    expect(await cancel(succeeded)).toEqual({ status: 200, body: { rid: succeeded, status: { type: 'succeeded', fileRid } } });
    expect(await get(succeeded)).toEqual({ rid: succeeded, status: { type: 'succeeded', fileRid } });

    const failed = await create();
    await env.rows.set('exportJobs', failed, { status: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' });
    expect((await cancel(failed)).body).toEqual({ rid: failed, status: { type: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' } });

    const cancelled = await create();
    const first = await cancel(cancelled);
    const finishedAt = (await exportJob(cancelled)).finishedAt;
    env.clock.advance(1_000);
    expect(await cancel(cancelled)).toEqual(first);
    expect((await exportJob(cancelled)).finishedAt).toBe(finishedAt);
  });

  it("answers ExportJobNotFound for another user's job and leaves it running; 400 for a malformed rid", async () => {
    const theirs = await create(other.token, await seedDocument(env.deps, other.userId, { title: 'Theirs' }));
    const result = await cancel(theirs);
    expect(result.status).toBe(404);
    expect(result.body).toMatchObject({ errorCode: 'NOT_FOUND', errorName: 'ExportJobNotFound', parameters: { exportJobRid: theirs } });
    expect((await exportJob(theirs)).status).toBe('running');
    expect((await cancel(newRid('export-job'))).body).toMatchObject({ errorName: 'ExportJobNotFound' });
    expect((await cancel('not-a-rid')).body).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'exportJobRid' } });
  });
});

describe('tRPC notepad.exportJobs.cancel', () => {
  it("cancels a running job, answers a cancelled one unchanged, and hides another user's", async () => {
    const caller = createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${owner.token}` }));
    const rid = await create();
    expect(await caller.notepad.exportJobs.cancel({ exportJobRid: rid })).toEqual({ rid, status: CANCELLED });
    expect(await caller.notepad.exportJobs.cancel({ exportJobRid: rid })).toEqual({ rid, status: CANCELLED });
    const theirs = await create(other.token, await seedDocument(env.deps, other.userId, { title: 'Theirs' }));
    expect(await callerError(caller.notepad.exportJobs.cancel({ exportJobRid: theirs }))).toMatchObject({ errorName: 'ExportJobNotFound' });
  });
});

describe('cancelling a job being rendered', () => {
  it('in this process: the render stops at once, its slot renders the next job, and no file or bytes are kept', async () => {
    const renderer = blockingFirstRender();
    const runner = createJobRunner({ deps: env.deps, files: env.files, render: renderer.render, coordination: env.coordination });
    runners.push(runner);
    const first = await create();
    const second = await create();
    runner.start();
    await renderer.started;
    expect(await cancel(first)).toEqual({ status: 200, body: { rid: first, status: CANCELLED } });
    // Told directly: the abort is the cancel's, not a renewal's (the lease is 300 ms, renewals every 100 ms).
    expect(((await renderer.aborted) as Error).message).toBe('cancelled');
    await runner.drain();
    expect(await get(first)).toEqual({ rid: first, status: CANCELLED });
    // One render slot: the second job could only render once the first one's slot was freed.
    expect(((await get(second)).status as { type: string }).type).toBe('succeeded');
    const fileRows = await env.rows.files();
    expect(fileRows.map((f) => f.exportJobRid)).toEqual([second]);
    expect(await storedPdfs()).toEqual([fileRows[0]!.storageKey]);
    expect(env.logLines().some((line) => line.msg === 'export job cancelled; render stopped' && line.exportJobRid === first)).toBe(true);
  });

  it('in another process: its runner stops the render at its next lease renewal', async () => {
    // A second connection and its own deps: its runner hears nothing of this process's job events.
    const database = await env.connectAgain();
    cleanups.push(() => database.close());
    const elsewhere = createDeps({ stores: database.stores, now: () => env.clock.now, logger: env.logger, config: { jobs: { leaseMs: 300, deadlineMs: 20_000, concurrency: 1 } } });
    const renderer = blockingFirstRender();
    const runner = createJobRunner({ deps: elsewhere, files: env.files, render: renderer.render });
    runners.push(runner);
    const rid = await create();
    runner.start();
    await renderer.started;
    await cancel(rid);
    expect(((await renderer.aborted) as Error).message).toBe('lease lost');
    await runner.drain();
    expect(await get(rid)).toEqual({ rid, status: CANCELLED });
    expect(await env.rows.files()).toEqual([]);
    await vi.waitFor(async () => expect(await storedPdfs(), 'no bytes stored').toEqual([]), { timeout: 10_000, interval: 5 });
  });

  it('a success commit after the cancel fails: the attempt no longer holds the job', async () => {
    const rid = await create();
    const job = (await claimNext(leasesOf(env.deps), 'export', 'runner-a'))!;
    expect(job.rid).toBe(rid);
    await cancel(rid);
    const file = { rid: newRid('file'), mediaType: 'application/pdf', filename: 'a.pdf', sizeBytes: 3, sha256: '0', storageKey: 'k.pdf' };
    expect(await env.deps.stores.jobs.commitExportSuccess(job, attemptOf(job), env.clock.now, file, NO_QUOTA)).toEqual({ outcome: 'lease-lost' });
    expect(await env.deps.stores.jobs.renew('export', attemptOf(job), env.clock.now, 300)).toBe(false);
    expect(await env.rows.files()).toEqual([]);
    expect(await get(rid)).toEqual({ rid, status: CANCELLED });
  });
});
