import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { ERRORS, NotepadError } from '../server/contract/errors.js';
import { createCaller } from '../server/routers/index.js';
import { createContextInner } from '../server/trpc.js';
import * as admin from '../server/services/admin.js';
import { authenticate } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { callerError, createTestEnv, seedDocument, seedGenerationJob, seedGrant, seedTemplate, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let app: FastifyInstance;
let owner: { userId: string; token: string };
let other: { userId: string; token: string };
let documentRid: string;
let viewOnlyDocumentRid: string;
let templateRid: string;

const URL_CREATE = '/api/v2/notepad/exportJobs/create?preview=true';
const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;
const bodyFor = (source: object, t: object = target) => ({ exportJobSource: source, exportJobTarget: t });

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  owner = await seedUser(env.deps, { name: 'Owner' });
  other = await seedUser(env.deps, { name: 'Other' });
  documentRid = await seedDocument(env.deps, owner.userId);
  viewOnlyDocumentRid = await seedDocument(env.deps, other.userId, { title: 'Shared for viewing' });
  await seedGrant(env.deps, owner.userId, viewOnlyDocumentRid, 'view');
  templateRid = await seedTemplate(env.deps, owner.userId);
});
afterAll(async () => {
  await app.close();
  await env.cleanup();
});

const countJobs = async () => (await env.rows.exportJobs()).length;

async function rest(opts: { token?: string | null; authorization?: string; url?: string; body?: unknown; rawBody?: string; contentType?: string }) {
  const headers: Record<string, string> = {};
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  else if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? owner.token}`;
  const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (payload !== undefined || opts.contentType) headers['content-type'] = opts.contentType ?? 'application/json';
  const response = await app.inject({ method: 'POST', url: opts.url ?? URL_CREATE, headers, ...(payload !== undefined ? { payload } : {}) });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

function expectError(result: { status: number; body: Record<string, unknown> }, errorName: keyof typeof ERRORS, status: number, parameters?: object) {
  expect(result.status).toBe(status);
  expect(result.body.errorName).toBe(errorName);
  expect(result.body.errorCode).toBe(ERRORS[errorName].errorCode);
  expect(result.body.errorDescription).toBe(ERRORS[errorName].description);
  expect(result.body.errorInstanceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  if (parameters) expect(result.body.parameters).toEqual(parameters);
}

describe('REST exportJobs.create', () => {
  it('creates a running job and stores exactly one row', async () => {
    const before = await countJobs();
    const result = await rest({ body: bodyFor({ type: 'documentSource', documentRid }) });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ rid: expect.stringMatching(/^ri\.notepad\.main\.export-job\.[0-9a-f-]{36}$/), status: { type: 'running' } });
    expect(await countJobs()).toBe(before + 1);
    const row = await env.rows.exportJob(result.body.rid as string);
    expect(row).toMatchObject({ status: 'running', creatorId: owner.userId, documentRid, userLocale: 'en-US', userTimezone: 'America/New_York' });
  });

  it('also accepts the short field names source and target', async () => {
    const result = await rest({ body: { source: { type: 'documentSource', documentRid }, target } });
    expect(result.status).toBe(200);
    expect(result.body.status).toEqual({ type: 'running' });
  });

  it('ignores unknown properties (forward compatibility)', async () => {
    const result = await rest({ body: { ...bodyFor({ type: 'documentSource', documentRid, extra: 1 }), future: true } });
    expect(result.status).toBe(200);
  });

  it('401 MissingCredentials without a usable Authorization header', async () => {
    expectError(await rest({ token: null, body: {} }), 'MissingCredentials', 401);
    expectError(await rest({ authorization: 'Basic abc', body: {} }), 'MissingCredentials', 401);
    expectError(await rest({ authorization: 'Bearer ', body: {} }), 'MissingCredentials', 401);
  });

  it('401 InvalidCredentials for unknown, revoked and expired tokens', async () => {
    expectError(await rest({ token: 'np_unknown', body: {} }), 'InvalidCredentials', 401);
    const revoked = await seedUser(env.deps);
    await admin.revokeToken(env.deps, { token: revoked.token });
    expectError(await rest({ token: revoked.token, body: {} }), 'InvalidCredentials', 401);
    const { token: expiring } = await admin.createToken(env.deps, { userId: owner.userId, scopes: ['api:notepad-export'], expiresInMs: 1000 });
    env.clock.advance(1000);
    expectError(await rest({ token: expiring, body: {} }), 'InvalidCredentials', 401);
  });

  it('403 ApiUsageDenied names the missing scope, before the preview check', async () => {
    const writer = await seedUser(env.deps, { scopes: ['api:notepad-write'] });
    expectError(await rest({ token: writer.token, url: '/api/v2/notepad/exportJobs/create', body: {} }), 'ApiUsageDenied', 403, {
      missingScope: 'api:notepad-export',
    });
  });

  it('400 ApiFeaturePreviewUsageOnly without preview=true, before the body checks', async () => {
    expectError(await rest({ url: '/api/v2/notepad/exportJobs/create' }), 'ApiFeaturePreviewUsageOnly', 400);
    expectError(await rest({ url: '/api/v2/notepad/exportJobs/create?preview=false', body: {} }), 'ApiFeaturePreviewUsageOnly', 400);
  });

  it('400 MissingPostBody for no body and an empty body, whatever the media type', async () => {
    expectError(await rest({}), 'MissingPostBody', 400);
    expectError(await rest({ rawBody: '' }), 'MissingPostBody', 400);
    expectError(await rest({ rawBody: '', contentType: 'application/x-www-form-urlencoded' }), 'MissingPostBody', 400);
    expectError(await rest({ rawBody: '', contentType: 'garbage' }), 'MissingPostBody', 400);
  });

  it('reads the body as JSON whatever the Content-Type says, one that is not a media type at all included', async () => {
    const body = JSON.stringify(bodyFor({ type: 'documentSource', documentRid }));
    for (const contentType of ['garbage', 'json', 'application/json, text/plain', ';', 'text/plain; charset=']) {
      const created = await rest({ rawBody: body, contentType });
      expect(created.status, contentType).toBe(200);
      expect(created.body.rid).toMatch(/^ri\.notepad\.main\.export-job\./);
    }
    expectError(await rest({ rawBody: '{"source":', contentType: 'garbage' }), 'Default:InvalidArgument', 400);
    const huge = JSON.stringify(bodyFor({ type: 'documentSource', documentRid, pad: 'x'.repeat(1024 * 1024) }));
    expectError(await rest({ rawBody: huge, contentType: 'garbage' }), 'Default:RequestEntityTooLarge', 413);
  });

  it('400 Default:InvalidArgument naming the offending path', async () => {
    expectError(await rest({ rawBody: '{"source":' }), 'Default:InvalidArgument', 400);
    const wrongType = await rest({ body: bodyFor({ type: 'documentSource', documentRid: 42 }) });
    expectError(wrongType, 'Default:InvalidArgument', 400);
    expect(wrongType.body.parameters).toMatchObject({ parameter: 'exportJobSource.documentRid' });
    const unknownUnion = await rest({ body: bodyFor({ type: 'spreadsheetSource' }) });
    expectError(unknownUnion, 'Default:InvalidArgument', 400);
    expect(unknownUnion.body.parameters).toMatchObject({ parameter: 'exportJobSource.type' });
    const missing = await rest({ body: { exportJobSource: { type: 'documentSource', documentRid } } });
    expect((missing.body.parameters as { parameter: string }).parameter).toBe('exportJobTarget');
    const malformedRid = await rest({ body: bodyFor({ type: 'documentSource', documentRid: "ri.notepad.main.notepad.1' OR 1=1" }) });
    expectError(malformedRid, 'Default:InvalidArgument', 400);
    expectError(await rest({ rawBody: '[1,2]' }), 'Default:InvalidArgument', 400);
    expectError(await rest({ rawBody: '['.repeat(10_000) }), 'Default:InvalidArgument', 400);
  });

  it('413 Default:RequestEntityTooLarge over the body limit, after the credentials, scope and preview checks', async () => {
    const huge = JSON.stringify(bodyFor({ type: 'documentSource', documentRid, pad: 'x'.repeat(1024 * 1024) }));
    expectError(await rest({ rawBody: huge }), 'Default:RequestEntityTooLarge', 413);
    // The contract's order holds for a body over the limit too: 401, 403, then preview's 400, then 413.
    expectError(await rest({ token: 'np_unknown', rawBody: huge }), 'InvalidCredentials', 401);
    const writer = await seedUser(env.deps, { scopes: ['api:notepad-write'] });
    expectError(await rest({ token: writer.token, rawBody: huge }), 'ApiUsageDenied', 403, { missingScope: 'api:notepad-export' });
    expectError(await rest({ url: '/api/v2/notepad/exportJobs/create', rawBody: huge }), 'ApiFeaturePreviewUsageOnly', 400);
  });

  it('1: CreateExportJobPermissionDenied for a user without the capability, before locale checks', async () => {
    const limited = await seedUser(env.deps, { canCreateExportJobs: false });
    expectError(
      await rest({ token: limited.token, body: bodyFor({ type: 'documentSource', documentRid }, { type: 'pdf', userLocale: 'en_US', userTimezone: 'CET' }) }),
      'CreateExportJobPermissionDenied',
      403,
      {},
    );
  });

  it('a locale or zone of any length is checked by the contract\'s rules, in its order (not refused earlier by size)', async () => {
    const long = 'a'.repeat(10_001);
    expectError(await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userLocale: long }) }), 'InvalidExportJobUserLocale', 400, { userLocale: long });
    expectError(await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userTimezone: `Europe/${long}` }) }), 'InvalidTimezone', 400, {
      userTimezone: `Europe/${long}`,
    });
    const limited = await seedUser(env.deps, { canCreateExportJobs: false });
    const denied = await rest({ token: limited.token, body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userLocale: long, userTimezone: long }) });
    expectError(denied, 'CreateExportJobPermissionDenied', 403, {});
  });

  it.each(['en_US', '', '!!', 'en-', 'a'.repeat(300)])('2: InvalidExportJobUserLocale for %j', async (userLocale) => {
    const result = await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { type: 'pdf', userLocale, userTimezone: 'CET' }) });
    expectError(result, 'InvalidExportJobUserLocale', 400, { userLocale });
  });

  it.each(['+01:00', 'CET', 'UTC', 'Mars/Olympus_Mons', 'Europe/', ''])('3: InvalidTimezone for %j', async (userTimezone) => {
    expectError(await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userTimezone }) }), 'InvalidTimezone', 400, { userTimezone });
  });

  it.each(['und', 'fr', 'de-CH', 'ja-JP'])('accepts locale %s', async (userLocale) => {
    expect((await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userLocale }) })).status).toBe(200);
  });

  it.each(['Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/UTC'])('accepts zone %s', async (userTimezone) => {
    expect((await rest({ body: bodyFor({ type: 'documentSource', documentRid }, { ...target, userTimezone }) })).status).toBe(200);
  });

  it('4: DocumentNotFound for an unknown document and one the caller cannot view', async () => {
    const unknown = 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000';
    expectError(await rest({ body: bodyFor({ type: 'documentSource', documentRid: unknown }) }), 'DocumentNotFound', 404, { documentRid: unknown });
    expectError(await rest({ token: other.token, body: bodyFor({ type: 'documentSource', documentRid }) }), 'DocumentNotFound', 404, { documentRid });
  });

  it('5: ExportDocumentPermissionDenied with view but not export', async () => {
    expectError(await rest({ body: bodyFor({ type: 'documentSource', documentRid: viewOnlyDocumentRid }) }), 'ExportDocumentPermissionDenied', 403, {
      documentRid: viewOnlyDocumentRid,
    });
  });

  it('6-9: generation job source errors, in order', async () => {
    const gen = (generationJobRid: string, tRid = templateRid) => bodyFor({ type: 'generationJobSource', generationJobRid, templateRid: tRid });
    const unknown = 'ri.notepad.main.generation-job.00000000-0000-4000-8000-000000000000';
    expectError(await rest({ body: gen(unknown) }), 'GenerationJobNotFound', 404, { generationJobRid: unknown, templateRid });

    const succeeded = await seedGenerationJob(env, { creatorId: owner.userId, templateRid, status: 'succeeded' });
    const otherTemplate = await seedTemplate(env.deps, owner.userId);
    expectError(await rest({ body: gen(succeeded, otherTemplate) }), 'GenerationJobNotFound', 404, { generationJobRid: succeeded, templateRid: otherTemplate });

    const expired = await seedGenerationJob(env, { creatorId: owner.userId, templateRid, status: 'succeeded', expiresAt: env.clock.now });
    expectError(await rest({ body: gen(expired) }), 'GenerationJobNotFound', 404);

    const othersJob = await seedGenerationJob(env, { creatorId: other.userId, templateRid, status: 'running' });
    expectError(await rest({ body: gen(othersJob) }), 'ExportGenerationJobPermissionDenied', 403, { generationJobRid: othersJob });

    const running = await seedGenerationJob(env, { creatorId: owner.userId, templateRid, status: 'running' });
    expectError(await rest({ body: gen(running) }), 'GenerationJobStatusRunning', 500, { generationJobRid: running });

    const failed = await seedGenerationJob(env, { creatorId: owner.userId, templateRid, status: 'failed' });
    expectError(await rest({ body: gen(failed) }), 'GenerationJobStatusFailed', 500, { generationJobRid: failed });

    const ok = await rest({ body: gen(succeeded) });
    expect(ok.status).toBe(200);
    const row = await env.rows.exportJob(ok.body.rid as string);
    expect(row).toMatchObject({ sourceType: 'generationJobSource', generationJobRid: succeeded, templateRid });
  });

  it('changes nothing on any error', async () => {
    const before = await countJobs();
    await rest({ body: bodyFor({ type: 'documentSource', documentRid: viewOnlyDocumentRid }) });
    await rest({ rawBody: '{' });
    await rest({ token: 'nope', body: bodyFor({ type: 'documentSource', documentRid }) });
    expect(await countJobs()).toBe(before);
  });

  it('logs the errorInstanceId of each error response', async () => {
    const result = await rest({ body: bodyFor({ type: 'documentSource', documentRid: viewOnlyDocumentRid }) });
    const lines = env.logLines().filter((line) => line.errorInstanceId === result.body.errorInstanceId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ errorName: 'ExportDocumentPermissionDenied', statusCode: 403 });
  });

  it('fresh errorInstanceId per occurrence', async () => {
    const a = await rest({ token: null });
    const b = await rest({ token: null });
    expect(a.body.errorInstanceId).not.toBe(b.body.errorInstanceId);
  });

  it('404 Default:NotFound for unknown routes', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v2/notepad/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ errorName: 'Default:NotFound', errorCode: 'NOT_FOUND' });
  });
});

describe('tRPC notepad.exportJobs.create (in-process caller)', () => {
  const caller = (token?: string) => createCaller(createContextInner({ deps: env.deps, authorization: token === undefined ? undefined : `Bearer ${token}` }));

  async function trpcError(promise: Promise<unknown>): Promise<NotepadError> {
    const error = await callerError(promise);
    expect(error).toBeInstanceOf(NotepadError);
    return error!;
  }

  it('creates a job', async () => {
    const job = await caller(owner.token).notepad.exportJobs.create({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
    expect(job.status).toEqual({ type: 'running' });
  });

  it('raises the same catalog errors as REST', async () => {
    expect((await trpcError(caller().notepad.exportJobs.create({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }))).errorName).toBe('MissingCredentials');
    const denied = await trpcError(
      caller(owner.token).notepad.exportJobs.create({ exportJobSource: { type: 'documentSource', documentRid: viewOnlyDocumentRid }, exportJobTarget: target }),
    );
    expect(denied.errorName).toBe('ExportDocumentPermissionDenied');
    const badZone = await trpcError(
      caller(owner.token).notepad.exportJobs.create({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { ...target, userTimezone: 'UTC' } }),
    );
    expect(badZone.parameters).toEqual({ userTimezone: 'UTC' });
  });
});

describe('exportJobs.create checks and insert as one step', () => {
  it('a grant revoked after the request arrived but before its batch commits is honoured: no job', async () => {
    const sharedRid = await seedDocument(env.deps, other.userId, { title: 'Shared, then not' });
    await seedGrant(env.deps, owner.userId, sharedRid, 'export');
    const before = await countJobs();
    const principal = await authenticate(env.deps, `Bearer ${owner.token}`);
    const pending = createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid: sharedRid }, exportJobTarget: target });
    // The revocation commits in the same turn, after the create was called and before its batch runs.
    await admin.revokeGrant(env.deps, { userId: owner.userId, resourceRid: sharedRid, action: 'export' });
    await expect(pending).rejects.toMatchObject({ errorName: 'DocumentNotFound' });
    expect(await countJobs()).toBe(before);
  });
});
