import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildApp } from '../server/app.js';
import { configFromEnv } from '../server/config.js';
import { leasesOf } from '../server/deps.js';
import { claimNext } from '../server/jobs/lease.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { createMetrics } from '../server/operating/metrics.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { authenticate } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { createStorageHealth } from '../server/storage-health.js';
import { createTestEnv, seedDocument, seedTemplate, seedUser, type TestEnv } from './helpers.js';
import { startApiServer, startLiveServer, type ApiServer, type LiveServer } from './live-server.js';
import { parsePrometheusText, type Exposition } from './prometheus-text.js';

const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;

async function scrape(baseUrl: string): Promise<Exposition> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await response.text());
}

async function waitFor(done: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await done())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('GET /metrics on a live server', () => {
  let server: LiveServer;
  let token: string;
  let exportJobRid: string;
  let metrics: Exposition;

  beforeAll(async () => {
    server = await startLiveServer();
    const user = await seedUser(server.env.deps);
    token = user.token;
    const documentRid = await seedDocument(server.env.deps, user.userId);
    const templateRid = await seedTemplate(server.env.deps, user.userId);
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const api = `${server.baseUrl}/api/v2/notepad`;

    const created = await fetch(`${api}/exportJobs/create?preview=true`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }),
    });
    exportJobRid = ((await created.json()) as { rid: string }).rid;
    await waitFor(async () => {
      const job = (await (await fetch(`${api}/exportJobs/${exportJobRid}?preview=true`, { headers: auth })).json()) as { status: { type: string } };
      return job.status.type !== 'running';
    });
    await fetch(`${api}/templates/${templateRid}/generate?preview=true`, { method: 'POST', headers: auth, body: JSON.stringify({ templateParameters: {} }) });
    // A RID nobody has, a path no route has, and a tRPC call: none of it may become a label.
    await fetch(`${api}/exportJobs/ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000?preview=true`, { headers: auth });
    await fetch(`${server.baseUrl}/api/v2/notepad/no/such/route/${token}`, { headers: auth });
    await fetch(`${server.baseUrl}/trpc/notepad.exportJobs.get?input=${encodeURIComponent(JSON.stringify({ exportJobRid }))}`, { headers: auth });
    await server.runner.drain();
    metrics = await scrape(server.baseUrl);
  });
  afterAll(() => server.close());

  it('counts requests by route template, method and status, with a latency histogram', () => {
    const get = { route: '/api/v2/notepad/exportJobs/:exportJobRid', method: 'GET' };
    expect(metrics.value('notepad_http_requests_total', { ...get, status: '200' })).toBeGreaterThanOrEqual(2);
    expect(metrics.value('notepad_http_requests_total', { ...get, status: '404' })).toBe(1);
    expect(metrics.value('notepad_http_requests_total', { route: '/api/v2/notepad/exportJobs/create', method: 'POST', status: '200' })).toBe(1);
    expect(metrics.value('notepad_http_requests_total', { route: '/trpc/:path', method: 'GET', status: '200' })).toBe(1);
    expect(metrics.value('notepad_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(metrics.types.get('notepad_http_request_duration_seconds')).toBe('histogram');
    const count = metrics.value('notepad_http_request_duration_seconds_count', { ...get, status: '200' });
    expect(metrics.value('notepad_http_request_duration_seconds_bucket', { ...get, status: '200', le: '+Inf' })).toBe(count);
  });

  it('never has a RID, a token or a raw path in a label', () => {
    for (const sample of metrics.samples) {
      for (const value of Object.values(sample.labels)) {
        expect(value).not.toMatch(/ri\.notepad|np_|no\/such/);
        expect(value).not.toContain(token);
      }
    }
    const routes = new Set(metrics.find('notepad_http_requests_total').map((s) => s.labels.route));
    for (const route of routes) expect(route === 'unmatched' || route!.startsWith('/')).toBe(true);
  });

  it("counts jobs created and succeeded, and an export's queue time, render time and pages", () => {
    expect(metrics.value('notepad_jobs_created_total', { kind: 'export' })).toBe(1);
    expect(metrics.value('notepad_jobs_created_total', { kind: 'generation' })).toBe(1);
    expect(metrics.value('notepad_jobs_succeeded_total', { kind: 'export' })).toBe(1);
    expect(metrics.value('notepad_jobs_succeeded_total', { kind: 'generation' })).toBe(1);
    expect(metrics.find('notepad_jobs_failed_total')).toEqual([]);
    const line = server.env.logLines().find((l) => l.msg === 'export job succeeded')!;
    expect(metrics.value('notepad_export_pages_count')).toBe(1);
    expect(metrics.value('notepad_export_pages_sum')).toBe(line.pages);
    expect(metrics.value('notepad_export_queue_seconds_sum')).toBeCloseTo(Number(line.queuedMs) / 1000, 6);
    expect(metrics.value('notepad_export_render_seconds_sum')).toBeCloseTo(Number(line.renderMs) / 1000, 6);
  });

  it('reads jobs waiting and running, render workers, the database and its WAL on each scrape', () => {
    expect(metrics.value('notepad_jobs_waiting', { kind: 'export' })).toBe(0);
    expect(metrics.value('notepad_jobs_running', { kind: 'export' })).toBe(0);
    expect(metrics.value('notepad_render_workers')).toBe(1);
    expect(metrics.value('notepad_render_workers_busy')).toBe(0);
    expect(metrics.value('notepad_db_bytes')).toBeGreaterThan(0);
    expect(metrics.value('notepad_db_wal_bytes')).toBeGreaterThan(0);
    expect(metrics.value('notepad_storage_full', { store: 'files' })).toBe(0);
  });

  it("has the process' own figures", () => {
    expect(metrics.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });
});

describe('queue depth, read from the database', () => {
  let server: ApiServer;
  afterEach(() => server.close());

  it('jobs waiting until a runner claims them, then running', async () => {
    server = await startApiServer();
    const { deps } = server.env;
    const user = await seedUser(deps);
    const principal = await authenticate(deps, `Bearer ${user.token}`);
    const documentRid = await seedDocument(deps, user.userId);
    for (let i = 0; i < 3; i++) await createExportJob(deps, principal, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
    let metrics = await scrape(server.baseUrl);
    expect(metrics.value('notepad_jobs_waiting', { kind: 'export' })).toBe(3);
    expect(metrics.value('notepad_jobs_running', { kind: 'export' })).toBe(0);

    expect(claimNext(leasesOf(deps), 'export', 'a-runner')).toBeDefined();
    metrics = await scrape(server.baseUrl);
    expect(metrics.value('notepad_jobs_waiting', { kind: 'export' })).toBe(2);
    expect(metrics.value('notepad_jobs_running', { kind: 'export' })).toBe(1);

    // A lease that lapsed is a job waiting again.
    server.env.clock.advance(deps.config.jobs.leaseMs + 1);
    metrics = await scrape(server.baseUrl);
    expect(metrics.value('notepad_jobs_waiting', { kind: 'export' })).toBe(3);
    expect(metrics.value('notepad_jobs_running', { kind: 'export' })).toBe(0);
  });

  it('a full store shows', async () => {
    const storage = createStorageHealth({ now: Date.now });
    server = await startApiServer({ storage });
    storage.reportFull('database', 'SQLITE_FULL');
    const metrics = await scrape(server.baseUrl);
    expect(metrics.value('notepad_storage_full', { store: 'database' })).toBe(1);
    expect(metrics.value('notepad_storage_full', { store: 'files' })).toBe(0);
  });
});

describe('jobs that fail, by errorCode (an injected registry)', () => {
  let env: TestEnv;
  afterEach(() => env.cleanup());

  it('counts each failure under its code', async () => {
    env = await createTestEnv({ config: { jobs: { deadlineMs: 100, concurrency: 2 } } });
    const registry = new Registry();
    const metrics = createMetrics({ deps: env.deps, registry, processMetrics: false });
    const user = await seedUser(env.deps);
    const principal = await authenticate(env.deps, `Bearer ${user.token}`);
    const create = async (title: string) =>
      createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid: await seedDocument(env.deps, user.userId, { title }) }, exportJobTarget: target });
    await create('hangs');
    await create('breaks');
    await create('renders');
    // One render never ends (its deadline fails it, TIMEOUT), one throws (INTERNAL), one renders.
    const render: Renderer = (request, { signal }) => {
      if (request.title === 'renders') return renderPdf(request);
      if (request.title === 'breaks') return Promise.reject(new Error('boom'));
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    };
    const runner = createJobRunner({ deps: env.deps, files: env.files, render });
    await runner.drain();
    await runner.stop(0);

    const text = parsePrometheusText((await metrics.scrape()).body);
    expect(text.value('notepad_jobs_failed_total', { kind: 'export', error_code: 'TIMEOUT' })).toBe(1);
    expect(text.value('notepad_jobs_failed_total', { kind: 'export', error_code: 'INTERNAL' })).toBe(1);
    expect(text.value('notepad_jobs_succeeded_total', { kind: 'export' })).toBe(1);
    expect(text.value('notepad_jobs_created_total', { kind: 'export' })).toBe(3);
    // Nothing of the process itself in this registry: it was asked for none.
    expect(text.find('process_cpu_user_seconds_total')).toEqual([]);

    // Stopped, it counts no more.
    metrics.stop();
    await create('renders');
    expect(parsePrometheusText((await metrics.scrape()).body).value('notepad_jobs_created_total', { kind: 'export' })).toBe(3);
  });
});

describe('NOTEPAD_METRICS', () => {
  it('off: GET /metrics is an unknown route (404)', async () => {
    const env = await createTestEnv({ config: { metrics: false } });
    const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ errorName: 'Default:NotFound' });
    } finally {
      await app.close();
      env.cleanup();
    }
  });

  it('is on by default, and takes on or off', () => {
    expect(configFromEnv({}).metrics).toBe(true);
    expect(configFromEnv({ NOTEPAD_METRICS: 'off' }).metrics).toBe(false);
    expect(configFromEnv({ NOTEPAD_METRICS: 'on' }).metrics).toBe(true);
    expect(() => configFromEnv({ NOTEPAD_METRICS: 'no' })).toThrow(/NOTEPAD_METRICS/);
  });
});
