import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { newRid } from '../server/contract/rids.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { attemptOf, claimNext } from '../server/jobs/lease.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { activeExportJobWaits, waitPreferenceOf } from '../server/services/export-job-wait.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
import { waitFor } from './stepped-render.js';

/** `Prefer: wait=N` on exportJobs.get, an extension (docs/api.md, "Extensions"). */

let env: TestEnv;
let app: FastifyInstance;
let owner: { userId: string; token: string };
let documentRid: string;
const cleanups: Array<() => void | Promise<void>> = [];

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: 300, deadlineMs: 20_000, concurrency: 1 } } });
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  owner = await seedUser(env.deps, { name: 'Owner' });
  documentRid = await seedDocument(env.deps, owner.userId);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
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
  return (response.json() as { rid: string }).rid;
}

async function get(rid: string, prefer?: string, opts: { token?: string; preview?: boolean } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? owner.token}` };
  if (prefer !== undefined) headers.prefer = prefer;
  const started = performance.now();
  const response = await app.inject({ method: 'GET', url: `/api/v2/notepad/exportJobs/${rid}${opts.preview === false ? '' : '?preview=true'}`, headers });
  return {
    status: response.statusCode,
    body: response.json() as Record<string, unknown>,
    applied: response.headers['preference-applied'],
    elapsedMs: performance.now() - started,
  };
}

/** A renderer that holds every render until `release()`. */
function heldRender() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started = 0;
  const render: Renderer = async (request) => {
    started++;
    await released;
    return renderPdf(request);
  };
  return { render, release, started: () => started };
}

function startRunner(render: Renderer): JobRunner {
  const runner = createJobRunner({ deps: env.deps, files: env.files, render });
  runner.start();
  cleanups.push(() => runner.stop(0));
  return runner;
}

describe('waitPreferenceOf', () => {
  it('reads wait=N among other preferences, caps it at 60 and ignores what is not whole seconds', () => {
    expect(waitPreferenceOf(undefined)).toBeUndefined();
    expect(waitPreferenceOf('wait=5')).toBe(5);
    expect(waitPreferenceOf('respond-async, WAIT = 7; foo=bar')).toBe(7);
    expect(waitPreferenceOf(['return=minimal', 'wait="3"'])).toBe(3);
    expect(waitPreferenceOf('wait=61')).toBe(60);
    expect(waitPreferenceOf('wait=99999999999999999999')).toBe(60);
    for (const malformed of ['wait', 'wait=', 'wait=abc', 'wait=1.5', 'wait=-1', 'wait=0', 'wait=5s', 'return=minimal', 'waiting=5']) {
      expect(waitPreferenceOf(malformed), malformed).toBeUndefined();
    }
  });
});

describe('REST GET exportJobs/{exportJobRid} with Prefer: wait', () => {
  it('answers as soon as a job this process runs finishes, well before the wait', async () => {
    const held = heldRender();
    startRunner(held.render);
    const rid = await create();
    await waitFor(() => held.started() === 1, 'the render started');
    const answer = get(rid, 'wait=30');
    await waitFor(() => activeExportJobWaits() === 1, 'the request waits');
    held.release();
    const result = await answer;
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ rid, status: { type: 'succeeded' } });
    expect(result.applied).toBe('wait=30');
    // A correctness bound: it answered because the job finished, not because 30 s passed.
    expect(result.elapsedMs).toBeLessThan(20_000);
    expect(activeExportJobWaits()).toBe(0);
  });

  it('answers as soon as another process ends the job (seen only by the poll)', async () => {
    const rid = await create();
    // The database opened again, as another process would: no job event here tells of what it does.
    const elsewhere = await env.connectAgain();
    cleanups.push(() => elsewhere.close());
    const leases = { store: elsewhere.stores.jobs, now: () => env.clock.now, leaseMs: () => env.deps.config.jobs.leaseMs };
    const claimed = (await claimNext(leases, 'export', 'elsewhere'))!;
    expect(claimed.rid).toBe(rid);
    const answer = get(rid, 'wait=30');
    await waitFor(() => activeExportJobWaits() === 1, 'the request waits');
    expect(await elsewhere.stores.jobs.failExport(attemptOf(claimed), env.clock.now, { errorCode: 'CONTENT_TOO_LARGE', message: 'too big', errorInstanceId: 'elsewhere' })).toBe(true);
    const result = await answer;
    expect(result).toMatchObject({
      status: 200,
      body: { rid, status: { type: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' } },
      applied: 'wait=30',
    });
    expect(result.elapsedMs).toBeLessThan(20_000);
    expect(activeExportJobWaits()).toBe(0);
  });

  it('answers a job still running after the wait, with its current state', async () => {
    const rid = await create();
    const result = await get(rid, 'wait=1');
    expect(result).toMatchObject({ status: 200, body: { rid, status: { type: 'running' } }, applied: 'wait=1' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(900);
    expect(activeExportJobWaits()).toBe(0);
  });

  it('answers a finished job at once and echoes the wait capped at 60', async () => {
    const rid = await create();
    const fileRid = newRid('file');
    await env.rows.set('exportJobs', rid, { status: 'succeeded', fileRid });
    const result = await get(rid, 'wait=3600');
    expect(result).toMatchObject({ status: 200, body: { rid, status: { type: 'succeeded', fileRid } }, applied: 'wait=60' });
  });

  it('ignores a malformed wait and other preferences: no wait, no Preference-Applied, the answer as without the header', async () => {
    const rid = await create();
    const plain = await get(rid);
    for (const prefer of ['wait=abc', 'wait=-3', 'wait=2.5', 'return=minimal', 'wait=0']) {
      const result = await get(rid, prefer);
      expect(result.status, prefer).toBe(200);
      expect(result.body, prefer).toEqual(plain.body);
      expect(result.applied, prefer).toBeUndefined();
    }
    expect(plain.applied).toBeUndefined();
    expect(activeExportJobWaits()).toBe(0);
  });

  it('answers ExportJobNotFound (an unknown job, or another user\'s) and the transport checks at once, never after a wait', async () => {
    const unknown = await get(newRid('export-job'), 'wait=30');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ errorName: 'ExportJobNotFound' });
    expect(unknown.applied).toBeUndefined();

    const rid = await create();
    const other = await seedUser(env.deps, { name: 'Other' });
    const foreign = await get(rid, 'wait=30', { token: other.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ errorName: 'ExportJobNotFound' });

    const noPreview = await get(rid, 'wait=30', { preview: false });
    expect(noPreview.status).toBe(400);
    expect(noPreview.body).toMatchObject({ errorName: 'ApiFeaturePreviewUsageOnly' });
    expect(activeExportJobWaits()).toBe(0);
  });

  it('leaves no timer or listener behind when the client goes away mid-wait', async () => {
    const rid = await create();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    const client = httpRequest({
      host: '127.0.0.1',
      port: address.port,
      path: `/api/v2/notepad/exportJobs/${rid}?preview=true`,
      headers: { authorization: `Bearer ${owner.token}`, prefer: 'wait=30' },
    });
    client.on('error', () => {});
    client.end();
    await waitFor(() => activeExportJobWaits() === 1, 'the request waits');
    client.destroy();
    await waitFor(() => activeExportJobWaits() === 0, 'the wait ended with the connection');
  });
});
