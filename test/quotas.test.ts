import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { ERRORS, type ErrorName } from '../server/contract/errors.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { authenticate } from '../server/services/auth.js';
import { createExportJob, getExportJob } from '../server/services/export-jobs.js';
import { createTestEnv, seedDocument, seedGenerationJob, seedTemplate, seedUser, type TestEnv } from './helpers.js';

const LIMIT = 2;
const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'Europe/Paris' } as const;

let env: TestEnv;
let app: FastifyInstance;
let ada: { userId: string; token: string };
let bea: { userId: string; token: string };
let documentRid: string;
let templateRid: string;

beforeEach(async () => {
  env = await createTestEnv({ config: { quotas: { maxActiveExportJobsPerUser: LIMIT, maxActiveGenerationJobsPerUser: LIMIT } } });
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  ada = await seedUser(env.deps, { name: 'Ada' });
  bea = await seedUser(env.deps, { name: 'Bea' });
  documentRid = await seedDocument(env.deps, ada.userId);
  templateRid = await seedTemplate(env.deps, ada.userId);
});
afterEach(async () => {
  await app.close();
  await env.cleanup();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  /** The REST body, or a tRPC error's `data` (a success's `result.data` otherwise). */
  body: Record<string, unknown>;
}

const exportBody = (rid = documentRid, t: object = target) => ({ exportJobSource: { type: 'documentSource', documentRid: rid }, exportJobTarget: t });
const generateBody = { templateParameters: {} };

async function send(url: string, payload: object, token: string, trpc: boolean): Promise<Answer> {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
  const json = response.json() as Record<string, unknown>;
  const retryAfter = response.headers['retry-after'] as string | undefined;
  if (!trpc) return { status: response.statusCode, retryAfter, body: json };
  const error = json.error as { data: Record<string, unknown> } | undefined;
  return { status: response.statusCode, retryAfter, body: error ? error.data : ((json.result as { data: Record<string, unknown> }).data ?? {}) };
}

const TRANSPORTS = [
  {
    name: 'REST',
    createExport: (token = ada.token, body: object = exportBody()) => send('/api/v2/notepad/exportJobs/create?preview=true', body, token, false),
    generate: (token = ada.token) => send(`/api/v2/notepad/templates/${templateRid}/generate?preview=true`, generateBody, token, false),
  },
  {
    name: 'tRPC',
    createExport: (token = ada.token, body: object = exportBody()) => send('/trpc/notepad.exportJobs.create', body, token, true),
    generate: (token = ada.token) => send('/trpc/notepad.templates.generate', { templateRid, ...generateBody }, token, true),
  },
];

function expectRefusal(answer: Answer, errorName: ErrorName, parameters: object) {
  expect(answer.status).toBe(429);
  expect(answer.retryAfter).toBe('1');
  expect(answer.body).toMatchObject({ errorCode: 'TOO_MANY_REQUESTS', errorName, errorDescription: ERRORS[errorName].description, parameters });
  expect(answer.body.errorInstanceId).toMatch(/^[0-9a-f-]{36}$/);
}

const rows = async () => ({ exports: (await env.rows.exportJobs()).length, generations: (await env.rows.generationJobs()).length });
const runner = () => createJobRunner({ deps: env.deps, files: env.files, render: (request) => renderPdf(request), coordination: env.coordination });

describe.each(TRANSPORTS)('quotas on active jobs over $name', (transport) => {
  it('refuses an export beyond the limit with 429 TooManyActiveExportJobs, writes nothing, and takes the next once a job has finished', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await transport.createExport()).status).toBe(200);
    const before = await rows();
    expectRefusal(await transport.createExport(), 'TooManyActiveExportJobs', { limit: LIMIT });
    expect(await rows()).toEqual(before);
    // Another user's quota is their own.
    expect((await transport.createExport(bea.token, exportBody(await seedDocument(env.deps, bea.userId)))).status).toBe(200);
    // A finished job frees its slot.
    const r = runner();
    await r.drain();
    await r.stop(0);
    expect((await transport.createExport()).status).toBe(200);
  });

  it("answers a create's own errors first: the quota refuses only what would otherwise succeed", async () => {
    for (let i = 0; i < LIMIT; i++) expect((await transport.createExport()).status).toBe(200);
    const badLocale = await transport.createExport(ada.token, exportBody(documentRid, { ...target, userLocale: 'en_US' }));
    expect([badLocale.status, badLocale.body.errorName]).toEqual([400, 'InvalidExportJobUserLocale']);
    const unseen = await seedDocument(env.deps, bea.userId); // Ada has no grant: it does not exist for her
    const notFound = await transport.createExport(ada.token, exportBody(unseen));
    expect([notFound.status, notFound.body.errorName]).toEqual([404, 'DocumentNotFound']);
  });

  it('refuses a generation beyond the limit with 429 TooManyActiveGenerationJobs, writes nothing, and takes the next once one has finished', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await transport.generate()).status).toBe(200);
    const before = await rows();
    expectRefusal(await transport.generate(), 'TooManyActiveGenerationJobs', { limit: LIMIT });
    expect(await rows()).toEqual(before);
    const r = runner();
    await r.drain();
    await r.stop(0);
    expect((await transport.generate()).status).toBe(200);
    // Unknown templates are still unknown, whatever the quota says.
    for (let i = 0; i < LIMIT; i++) await transport.generate();
    const other = await send(`/api/v2/notepad/templates/${await seedTemplate(env.deps, bea.userId)}/generate?preview=true`, generateBody, ada.token, false);
    expect([other.status, other.body.errorName]).toEqual([404, 'TemplateNotFound']);
  });
});

describe('active-job quotas under concurrent creates', () => {
  const create = async (deps: Deps, token: string) =>
    createExportJob(deps, await authenticate(deps, `Bearer ${token}`), { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }).then(
      () => 'created',
      (error: { errorName?: string }) => error.errorName,
    );

  it('never overshoots, within one group commit or between processes sharing the database', async () => {
    const second = await env.connectAgain();
    try {
      const elsewhere = createDeps({ stores: second.stores, now: () => env.clock.now, config: { quotas: { maxActiveExportJobsPerUser: LIMIT } } });
      const outcomes = await Promise.all([...Array.from({ length: 5 }, () => create(env.deps, ada.token)), ...Array.from({ length: 5 }, () => create(elsewhere, ada.token))]);
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(LIMIT);
      expect(outcomes.filter((o) => o === 'TooManyActiveExportJobs')).toHaveLength(10 - LIMIT);
      expect((await rows()).exports).toBe(LIMIT);
    } finally {
      await second.close();
    }
  });
});

describe.each(TRANSPORTS)('the storage quota over $name', (transport) => {
  /** Ada's generated content: what she stores until it expires, an hour after its job was created. */
  const seedGenerated = () => seedGenerationJob(env, { creatorId: ada.userId, templateRid, status: 'succeeded' });
  const storedBytes = (userId = ada.userId) => env.deps.stores.jobs.storedBytes(userId);

  it('refuses exports and generations while the user holds the limit, with Retry-After until the first of it expires, and writes nothing', async () => {
    await seedGenerated();
    env.deps.config.quotas.maxStoredBytesPerUser = await storedBytes();
    env.clock.advance(600_000);
    const before = await rows();
    for (const answer of [await transport.createExport(), await transport.generate()]) {
      expect(answer.status).toBe(429);
      expect(answer.body).toMatchObject({ errorCode: 'TOO_MANY_REQUESTS', errorName: 'StorageQuotaExceeded', errorDescription: ERRORS.StorageQuotaExceeded.description });
      expect(answer.body.parameters).toEqual({ limitBytes: await storedBytes() });
      expect(answer.retryAfter).toBe(String(3_600 - 600));
    }
    expect(await rows()).toEqual(before);
    env.deps.config.quotas.maxStoredBytesPerUser = await storedBytes() + 1; // room for one more byte: work may start
    expect((await transport.createExport()).status).toBe(200);
    expect((await transport.generate()).status).toBe(200);
  });
});

describe('the storage quota while rendering', () => {
  let rendered: number;
  const counting = () =>
    createJobRunner({
      deps: env.deps,
      files: env.files,
      coordination: env.coordination,
      render: (request) => {
        rendered++;
        return renderPdf(request);
      },
    });
  const create = async () => createExportJob(env.deps, await authenticate(env.deps, `Bearer ${ada.token}`), { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
  const statusOf = async (rid: string) => (await getExportJob(env.deps, await authenticate(env.deps, `Bearer ${ada.token}`), rid)).status;

  beforeEach(() => {
    rendered = 0;
  });

  it('fails an export whose file would take the user past the limit, keeping neither file row nor bytes', async () => {
    env.deps.config.quotas.maxStoredBytesPerUser = 1_000; // less than any PDF
    const { rid } = await create();
    const r = counting();
    await r.drain();
    await r.stop(0);
    expect(rendered).toBe(1);
    const status = await statusOf(rid);
    expect(status).toMatchObject({ type: 'failed', errorCode: 'STORAGE_QUOTA_EXCEEDED' });
    expect(status.type === 'failed' && status.errorMessage).toMatch(/past the limit of 1000 bytes/);
    expect(await env.rows.files()).toEqual([]);
    // Every key the store holds, finished or a write not yet in place.
    expect(await env.files.list()).toEqual([]);
    expect(await env.deps.stores.jobs.storedBytes(ada.userId)).toBe(0);
  });

  it('fails an export queued before the user ran out of storage without rendering it', async () => {
    const { rid } = await create();
    await seedGenerationJob(env, { creatorId: ada.userId, templateRid, status: 'succeeded' });
    env.deps.config.quotas.maxStoredBytesPerUser = await env.deps.stores.jobs.storedBytes(ada.userId);
    const r = counting();
    await r.drain();
    await r.stop(0);
    expect(rendered).toBe(0);
    expect(await statusOf(rid)).toMatchObject({ type: 'failed', errorCode: 'STORAGE_QUOTA_EXCEEDED' });
  });

  it('keeps files up to the limit: the one that fits succeeds, counted', async () => {
    const first = await create();
    const r = counting();
    await r.drain();
    const size = await env.deps.stores.jobs.storedBytes(ada.userId);
    expect((await statusOf(first.rid)).type).toBe('succeeded');
    expect(size).toBe((await env.rows.files())[0]!.sizeBytes);
    env.deps.config.quotas.maxStoredBytesPerUser = 2 * size; // exactly one more of the same size
    env.clock.advance(1);
    const second = await create();
    await r.drain();
    await r.stop(0);
    expect((await statusOf(second.rid)).type).toBe('succeeded');
    expect(await env.deps.stores.jobs.storedBytes(ada.userId)).toBe(2 * size);
  });
});
