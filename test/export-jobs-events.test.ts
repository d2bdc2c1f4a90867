import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { newRid } from '../server/contract/rids.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { openEventStreams } from '../server/http/export-job-events.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
import type { Keyed } from './rows.js';
import { openSse, type SseConnection, type SseFrame } from './sse-client.js';
import { steppedRender, waitFor } from './stepped-render.js';

/**
 * GET exportJobs/{exportJobRid}/events, an extension (docs/api.md, "Extensions"): the job's
 * changes as Server-Sent Events, from one shared watcher per job.
 */

const HEARTBEAT_MS = 100;
let env: TestEnv;
let app: FastifyInstance;
let base: string;
let owner: { userId: string; token: string };
let documentRid: string;
const runners: JobRunner[] = [];
const streams: SseConnection[] = [];

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

/** `hints: false`: no PostgreSQL change hints, so other processes' changes are seen at the poll only (SQLite has none). */
async function setUp(events: { heartbeatMs?: number; maxStreamMs?: number; pollMs?: number } = {}, { hints = true } = {}) {
  env = await createTestEnv({
    ...(hints ? {} : { exportJobChangeHints: undefined }),
    config: { jobs: { leaseMs: 30_000, deadlineMs: 20_000, concurrency: 1, progressIntervalMs: 250 }, events: { heartbeatMs: HEARTBEAT_MS, pollMs: 50, ...events } },
  });
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  base = `http://127.0.0.1:${address.port}`;
  owner = await seedUser(env.deps, { name: 'Owner' });
  documentRid = await seedDocument(env.deps, owner.userId);
}

async function tearDown() {
  // A connection the client aborted mid-stream must not hold the close up.
  app.server.closeAllConnections();
  await app.close();
  await env.cleanup();
}

beforeEach(async () => {
  await setUp();
});
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  for (const r of runners.splice(0)) await r.stop(0);
  await tearDown();
});

async function create(): Promise<string> {
  env.clock.advance(1);
  const response = await fetch(`${base}/api/v2/notepad/exportJobs/create?preview=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { rid: string }).rid;
}

async function events(rid: string, opts: { token?: string; lastEventId?: string; preview?: boolean } = {}): Promise<SseConnection> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? owner.token}` };
  if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId;
  const stream = await openSse(`${base}/api/v2/notepad/exportJobs/${rid}/events${opts.preview === false ? '' : '?preview=true'}`, headers);
  streams.push(stream);
  return stream;
}

/** The next frame that is an event (heartbeats skipped). */
async function nextEvent(stream: SseConnection): Promise<SseFrame | undefined> {
  for (;;) {
    const frame = await stream.next();
    if (!frame || frame.event) return frame;
  }
}

const dataOf = (frame: SseFrame | undefined) => JSON.parse(frame?.data ?? 'null') as Record<string, unknown>;

/**
 * Changes a job's row past the services, as another process would (the job-event bus of this
 * one hears nothing of it), moving its version on as every change does.
 */
async function changeElsewhere(rid: string, values: Partial<Keyed['exportJobs']>): Promise<void> {
  const { version } = (await env.rows.exportJob(rid))!;
  await env.rows.set('exportJobs', rid, { ...values, version: version + 1 });
}

function startRunner(render: Renderer): JobRunner {
  const runner = createJobRunner({ deps: env.deps, files: env.files, render, coordination: env.coordination });
  runner.start();
  runners.push(runner);
  return runner;
}

describe('REST GET exportJobs/{exportJobRid}/events', () => {
  it('streams progress, then succeeded, each with an increasing id, and closes after the terminal event', async () => {
    const stepped = steppedRender();
    startRunner(stepped.render);
    const rid = await create();
    await waitFor(stepped.started, 'the render started');
    const stream = await events(rid);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('cache-control')).toBe('no-store');

    const first = await nextEvent(stream);
    expect(first?.event).toBe('progress');
    expect(dataOf(first)).toEqual({ rid, status: { type: 'running' }, progress: { stage: 'rendering', pagesRendered: 0 } });

    env.clock.advance(250);
    stepped.pages(3);
    const second = await nextEvent(stream);
    expect(second?.event).toBe('progress');
    expect(dataOf(second)).toEqual({ rid, status: { type: 'running' }, progress: { stage: 'rendering', pagesRendered: 3 } });
    expect(Number(second?.id)).toBeGreaterThan(Number(first?.id));

    stepped.finish();
    const rest = (await stream.rest()).filter((frame) => frame.event);
    // The move to storing may be seen or coalesced away; the end is always the last event.
    const last = rest.at(-1)!;
    expect(last.event).toBe('succeeded');
    expect(dataOf(last)).toEqual({ rid, status: { type: 'succeeded', fileRid: expect.any(String) } });
    const ids = [first, second, ...rest].map((frame) => Number(frame?.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    await waitFor(() => openEventStreams() === 0, 'the stream was cleaned up');
    expect(env.deps.watchers.stats()).toEqual({ jobs: 0, listeners: 0 });
  });

  it('a reconnect with Last-Event-ID gets only what is newer: the terminal event is never lost, and after it nothing', async () => {
    const stepped = steppedRender();
    startRunner(stepped.render);
    const rid = await create();
    await waitFor(stepped.started, 'the render started');
    const stream = await events(rid);
    const seen = await nextEvent(stream);
    expect(seen?.event).toBe('progress');
    stream.close();
    await waitFor(() => openEventStreams() === 0, 'the server saw the client leave');

    // The job ends while the client is away.
    stepped.finish();
    await vi.waitFor(async () => expect((await env.rows.exportJob(rid))!.status, 'the job ended').toBe('succeeded'), { timeout: 10_000, interval: 5 });

    const again = await events(rid, { lastEventId: seen!.id! });
    const frames = (await again.rest()).filter((frame) => frame.event);
    expect(frames.map((frame) => frame.event)).toEqual(['succeeded']);
    expect(Number(frames[0]!.id)).toBeGreaterThan(Number(seen!.id));

    // A client that has the terminal event: an empty stream, closed at once.
    const after = await events(rid, { lastEventId: frames[0]!.id! });
    expect(after.status).toBe(200);
    expect((await after.rest()).filter((frame) => frame.event)).toEqual([]);
    // Without Last-Event-ID: the terminal event at once, then the end.
    expect((await (await events(rid)).rest()).map((frame) => frame.event)).toEqual(['succeeded']);
  });

  it('sends a comment heartbeat on an idle stream every events.heartbeatMs', async () => {
    const rid = await create();
    const stream = await events(rid);
    // A heartbeat may precede the first event if reading the job takes longer than one interval.
    let first = await stream.next();
    while (first?.comment === 'heartbeat') first = await stream.next();
    expect(first).toMatchObject({ event: 'progress', data: JSON.stringify({ rid, status: { type: 'running' }, progress: { stage: 'queued', pagesRendered: 0 } }) });
    expect(await stream.next()).toEqual({ comment: 'heartbeat' });
    expect(await stream.next()).toEqual({ comment: 'heartbeat' });
  });

  it('sees a change another process made, through the poll of the job\'s row', async () => {
    // Without PostgreSQL's change hints (test/pg-watch-hints.test.ts has those), as on SQLite: the poll alone must see it.
    await tearDown();
    await setUp({}, { hints: false });
    const rid = await create();
    const stream = await events(rid);
    expect((await nextEvent(stream))?.event).toBe('progress');
    await changeElsewhere(rid, { status: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' });
    const end = await nextEvent(stream);
    expect(end?.event).toBe('failed');
    expect(dataOf(end)).toEqual({ rid, status: { type: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' } });
    expect(await nextEvent(stream)).toBeUndefined();
  });

  it('one watcher per job however many listen; each listener leaving takes its timers and listener with it', async () => {
    const rid = await create();
    const other = await create();
    const listeners = [await events(rid), await events(rid), await events(rid), await events(other)];
    for (const stream of listeners) expect((await nextEvent(stream))?.event).toBe('progress');
    expect(env.deps.watchers.stats()).toEqual({ jobs: 2, listeners: 4 });
    expect(openEventStreams()).toBe(4);

    listeners[0]!.close();
    await waitFor(() => env.deps.watchers.stats().listeners === 3, 'the first listener left');
    expect(env.deps.watchers.stats()).toEqual({ jobs: 2, listeners: 3 });
    for (const stream of listeners.slice(1)) stream.close();
    await waitFor(() => openEventStreams() === 0, 'every stream was cleaned up');
    expect(env.deps.watchers.stats()).toEqual({ jobs: 0, listeners: 0 });
  });

  it('a cancel ends the stream with the failed (CANCELLED) event', async () => {
    const rid = await create();
    const stream = await events(rid);
    expect((await nextEvent(stream))?.event).toBe('progress');
    await fetch(`${base}/api/v2/notepad/exportJobs/${rid}/cancel?preview=true`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` } });
    const end = await nextEvent(stream);
    expect(end?.event).toBe('failed');
    expect(dataOf(end)).toMatchObject({ rid, status: { type: 'failed', errorCode: 'CANCELLED' } });
    expect(await nextEvent(stream)).toBeUndefined();
  });

  it("answers ExportJobNotFound for another user's job and an unknown one, as exportJobs.get does; nothing is watched", async () => {
    const rid = await create();
    const other = await seedUser(env.deps, { name: 'Other' });
    const foreign = await events(rid, { token: other.token });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toContain('application/json');
    expect(await foreign.json()).toMatchObject({ errorCode: 'NOT_FOUND', errorName: 'ExportJobNotFound', parameters: { exportJobRid: rid } });
    const unknown = await events(newRid('export-job'));
    expect(await unknown.json()).toMatchObject({ errorName: 'ExportJobNotFound' });
    expect(env.deps.watchers.stats()).toEqual({ jobs: 0, listeners: 0 });
  });

  it('answers the transport checks in the contract shape: no credentials 401, no preview 400, a malformed Last-Event-ID 400', async () => {
    const rid = await create();
    const anonymous = await openSse(`${base}/api/v2/notepad/exportJobs/${rid}/events?preview=true`, {});
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ errorName: 'MissingCredentials' });
    const noPreview = await events(rid, { preview: false });
    expect(noPreview.status).toBe(400);
    expect(await noPreview.json()).toMatchObject({ errorName: 'ApiFeaturePreviewUsageOnly' });
    const badId = await events(rid, { lastEventId: 'abc' });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'Last-Event-ID' } });
    const badRid = await events('not-a-rid');
    expect(await badRid.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'exportJobRid' } });
    expect(openEventStreams()).toBe(0);
  });
});

describe('a closing server', () => {
  it('ends its open streams rather than waiting for their jobs, leaving no watcher', async () => {
    const rid = await create();
    const stream = await events(rid);
    expect((await nextEvent(stream))?.event).toBe('progress');
    const deps = env.deps;
    await app.close();
    expect(await nextEvent(stream)).toBeUndefined();
    expect(deps.watchers.stats()).toEqual({ jobs: 0, listeners: 0 });
    expect(openEventStreams()).toBe(0);
    await env.cleanup();
    await setUp();
  });
});

describe('a stream past events.maxStreamMs', () => {
  it('is closed by the server; a reconnect with Last-Event-ID picks up where it was', async () => {
    await tearDown();
    // Long enough for the first event on a busy machine, short enough to wait for.
    await setUp({ maxStreamMs: 1_000, heartbeatMs: 60_000 });
    const rid = await create();
    const stream = await events(rid);
    const seen = await nextEvent(stream);
    expect(await nextEvent(stream)).toBeUndefined();
    expect(openEventStreams()).toBe(0);
    await changeElsewhere(rid, { status: 'failed', errorMessage: 'x' });
    const again = await events(rid, { lastEventId: seen!.id! });
    expect((await again.rest()).map((frame) => frame.event)).toEqual(['failed']);
  });
});
