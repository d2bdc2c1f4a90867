import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { Content } from '../server/contract/content.js';
import { leasesOf } from '../server/deps.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { attemptOf, claimNext } from '../server/jobs/lease.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import type { FileStore } from '../server/files/store.js';
import { createRenderPool } from '../server/render/pool.js';
import { createCaller } from '../server/routers/index.js';
import { createContextInner } from '../server/trpc.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
import { steppedRender, waitFor } from './stepped-render.js';

/**
 * ExportJob.progress, an extension (docs/api.md, "Extensions"): queued, rendering with the
 * pages so far, storing; absent once the job has ended. Written by the attempt holding the
 * live lease only, at most once per jobs.progressIntervalMs per job (by the injected clock).
 */

const INTERVAL_MS = 250;
let env: TestEnv;
let app: FastifyInstance;
let owner: { userId: string; token: string };
let documentRid: string;
const runners: JobRunner[] = [];

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: 30_000, deadlineMs: 20_000, concurrency: 1, progressIntervalMs: INTERVAL_MS } } });
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  owner = await seedUser(env.deps, { name: 'Owner' });
  documentRid = await seedDocument(env.deps, owner.userId);
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop(0);
  await app.close();
  await env.cleanup();
});

async function create(): Promise<string> {
  env.clock.advance(1);
  const response = await app.inject({
    method: 'POST',
    url: '/api/v2/notepad/exportJobs/create?preview=true',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }),
  });
  expect(response.statusCode).toBe(200);
  // create answers Foundry's shape alone: the official client compares it as such.
  expect(response.json()).toEqual({ rid: expect.any(String), status: { type: 'running' } });
  return (response.json() as { rid: string }).rid;
}

async function get(rid: string) {
  const response = await app.inject({ method: 'GET', url: `/api/v2/notepad/exportJobs/${rid}?preview=true`, headers: { authorization: `Bearer ${owner.token}` } });
  expect(response.statusCode).toBe(200);
  return response.json() as Record<string, unknown>;
}

const caller = () => createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${owner.token}` }));
const row = async (rid: string) => (await env.rows.exportJob(rid))!;

function startRunner(render: Renderer, files: FileStore = env.files): JobRunner {
  const runner = createJobRunner({ deps: env.deps, files, render });
  runner.start();
  runners.push(runner);
  return runner;
}

describe('ExportJob.progress over REST and tRPC', () => {
  it('a job nobody has claimed is queued with 0 pages, on get, list and tRPC get', async () => {
    const rid = await create();
    const queued = { rid, status: { type: 'running' }, progress: { stage: 'queued', pagesRendered: 0 } };
    expect(await get(rid)).toEqual(queued);
    const list = await app.inject({ method: 'GET', url: '/api/v2/notepad/exportJobs?preview=true', headers: { authorization: `Bearer ${owner.token}` } });
    expect(list.json()).toEqual({ data: [queued] });
    expect(await caller().notepad.exportJobs.get({ exportJobRid: rid })).toEqual(queued);
    expect(await caller().notepad.exportJobs.list({})).toEqual({ data: [queued] });
  });

  it('a finished job carries no progress, whatever its row last said', async () => {
    const rid = await create();
    await env.rows.set('exportJobs', rid, { status: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE', progressStage: 'rendering', pagesRendered: 7 });
    expect(await get(rid)).toEqual({ rid, status: { type: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' } });
    expect(await caller().notepad.exportJobs.get({ exportJobRid: rid })).not.toHaveProperty('progress');
  });
});

describe('the runner writes progress', () => {
  it('rendering from the claim, page counts at most once per interval by the injected clock, then storing, then none', async () => {
    const stepped = steppedRender();
    // The row's stage as each progress event is told (read at once, in order, on the rows' own connection).
    const seen: Array<Promise<unknown>> = [];
    const unsubscribe = env.deps.jobEvents.subscribe((event) => {
      if (event.type === 'progress') seen.push(row(event.rid).then((r) => r.progressStage));
    });
    startRunner(stepped.render);
    const rid = await create();
    await waitFor(stepped.started, 'the render started');
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 0 });
    const versionAtClaim = (await row(rid)).version;

    stepped.pages(1); // within the interval since the claim: not written
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 0 });
    env.clock.advance(INTERVAL_MS);
    stepped.pages(2);
    // The render does not wait for a progress write (it is advisory): its event says it landed.
    // On SQLite it lands within the call; on PostgreSQL a read sent meanwhile may precede it.
    await waitFor(() => seen.length === 1, 'the page count was written');
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 2 });
    stepped.pages(3);
    env.clock.advance(INTERVAL_MS - 1);
    stepped.pages(4);
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 2 });
    env.clock.advance(1);
    stepped.pages(5);
    await waitFor(() => seen.length === 2, 'the page count was written');
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 5 });
    expect((await row(rid)).version).toBe(versionAtClaim + 2);

    // The interval since the last write is up: the move to storing is written at once.
    env.clock.advance(INTERVAL_MS);
    stepped.finish();
    await vi.waitFor(async () => expect((await row(rid)).status, 'the job succeeded').toBe('succeeded'), { timeout: 10_000 });
    unsubscribe();
    // With the final page count, before the outcome.
    expect(await Promise.all(seen)).toEqual(['rendering', 'rendering', 'storing']);
    const done = await get(rid);
    expect(done).toEqual({ rid, status: { type: 'succeeded', fileRid: expect.any(String) } });
  });

  it('the move to storing within the interval of the last write: written when the interval is up, if still storing', async () => {
    const stepped = steppedRender();
    const stages: Array<Promise<unknown>> = [];
    const unsubscribe = env.deps.jobEvents.subscribe((event) => {
      if (event.type === 'progress') stages.push(row(event.rid).then((r) => [r.progressStage, r.pagesRendered, r.status]));
    });
    // Bytes that take their time to store: held until the test lets them go.
    let letWrite!: () => void;
    const writeHeld = new Promise<void>((resolve) => (letWrite = resolve));
    const slowFiles: FileStore = Object.assign(Object.create(env.files) as FileStore, {
      write: async (key: string, bytes: Uint8Array) => {
        await writeHeld;
        return env.files.write(key, bytes);
      },
    });
    startRunner(stepped.render, slowFiles);
    const rid = await create();
    await waitFor(stepped.started, 'the render started');
    const versionAtClaim = (await row(rid)).version;
    env.clock.advance(INTERVAL_MS - 100);
    stepped.finish();
    // Not at once: the claim's write is only INTERVAL_MS - 100 old by the injected clock.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 0 });
    // The rest of the interval (100 ms) on a timer; the bytes are still being stored then.
    await waitFor(() => stages.length === 1, 'storing was written');
    expect(await Promise.all(stages)).toEqual([['storing', 1, 'running']]);
    expect((await get(rid)).progress).toEqual({ stage: 'storing', pagesRendered: 1 });
    expect((await row(rid)).version).toBe(versionAtClaim + 1);
    letWrite();
    await vi.waitFor(async () => expect((await row(rid)).status, 'the job succeeded').toBe('succeeded'), { timeout: 10_000 });
    unsubscribe();
    expect(stages).toHaveLength(1);
  });

  it('an export stored within the interval of the last write never writes storing', async () => {
    const stepped = steppedRender();
    const events: string[] = [];
    const unsubscribe = env.deps.jobEvents.subscribe((event) => {
      if (event.kind === 'export') events.push(event.type);
    });
    // Not even tried once the job ended (a write then would be refused, but still a statement).
    const writes = vi.spyOn(env.deps.stores.jobs, 'writeProgress');
    // An interval the store and commit finish well within, even on a loaded machine.
    const interval = 1_000;
    env.deps.config.jobs.progressIntervalMs = interval;
    startRunner(stepped.render);
    const rid = await create();
    await waitFor(stepped.started, 'the render started');
    const versionAtClaim = (await row(rid)).version;
    stepped.finish();
    await vi.waitFor(async () => expect((await row(rid)).status, 'the job succeeded').toBe('succeeded'), { timeout: 10_000 });
    // Longer than the interval: the dropped write does not land late either.
    await new Promise((resolve) => setTimeout(resolve, interval + 50));
    unsubscribe();
    expect(events.filter((type) => type === 'progress')).toEqual([]);
    expect(events).toContain('succeeded');
    expect(writes).not.toHaveBeenCalled();
    // Claim, then the outcome: no version in between.
    expect((await row(rid)).version).toBe(versionAtClaim + 1);
  });

  it('an attempt whose lease lapsed cannot write progress; the attempt holding the lease can', async () => {
    const rid = await create();
    const leases = leasesOf(env.deps);
    const stale = (await claimNext(leases, 'export', 'runner-a'))!;
    env.clock.advance(env.deps.config.jobs.leaseMs + 1);
    const live = (await claimNext(leases, 'export', 'runner-b'))!;
    expect(live.rid).toBe(rid);
    const before = await row(rid);

    expect(await env.deps.stores.jobs.writeProgress(attemptOf(stale), env.clock.now, { stage: 'rendering', pagesRendered: 99 })).toBe(false);
    expect(await row(rid)).toEqual(before);
    // The same owner's earlier attempt is stale too once it claimed again (attempts differ).
    const again = { ...attemptOf(live), attempt: live.attempts - 1 };
    expect(await env.deps.stores.jobs.writeProgress(again, env.clock.now, { stage: 'storing', pagesRendered: 99 })).toBe(false);
    expect(await row(rid)).toEqual(before);

    expect(await env.deps.stores.jobs.writeProgress(attemptOf(live), env.clock.now, { stage: 'rendering', pagesRendered: 3 })).toBe(true);
    expect((await get(rid)).progress).toEqual({ stage: 'rendering', pagesRendered: 3 });
    expect((await row(rid)).version).toBe(before.version + 1);
  });

  it('a finished job takes no progress write, even from the attempt that finished it', async () => {
    const rid = await create();
    const claimed = (await claimNext(leasesOf(env.deps), 'export', 'runner-a'))!;
    await env.deps.stores.jobs.failExport(attemptOf(claimed), env.clock.now, { errorCode: 'INTERNAL', message: 'boom', errorInstanceId: 'x' });
    const before = await row(rid);
    expect(await env.deps.stores.jobs.writeProgress(attemptOf(claimed), env.clock.now, { stage: 'storing', pagesRendered: 1 })).toBe(false);
    expect(await row(rid)).toEqual(before);
  });

  it('a job given back at shutdown is queued again', async () => {
    const rid = await create();
    const claimed = (await claimNext(leasesOf(env.deps), 'export', 'runner-a'))!;
    await env.deps.stores.jobs.writeProgress(attemptOf(claimed), env.clock.now, { stage: 'rendering', pagesRendered: 4 });
    expect(await env.deps.stores.jobs.release('export', attemptOf(claimed), env.clock.now)).toBe(true);
    expect((await get(rid)).progress).toEqual({ stage: 'queued', pagesRendered: 0 });
  });
});

describe('the render pool reports pages from its worker thread', () => {
  it('tells increasing page counts, ending at the page count of the result', { timeout: 60_000 }, async () => {
    const pool = createRenderPool({ threads: 1 });
    try {
      const page = (n: number): Content['blocks'] => [{ type: 'paragraph', content: [{ type: 'text', text: `Page ${n}` }] }, { type: 'pageBreak' }];
      const content: Content = { blocks: [1, 2, 3, 4, 5, 6].flatMap(page).concat([{ type: 'paragraph', content: [{ type: 'text', text: 'Page 7' }] }]) };
      const told: number[] = [];
      const result = await pool.render({ title: 'Pages', content, locale: 'en-GB', timezone: 'Europe/London', exportedAt: 0 }, { onPages: (n) => told.push(n) });
      await waitFor(() => told.at(-1) === result.pageCount, 'the last page count arrived');
      expect(result.pageCount).toBe(7);
      expect(told).toEqual([1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await pool.destroy();
    }
  });
});
