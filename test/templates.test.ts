import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { TemplateParameterDeclaration } from '../server/contract/api.js';
import type { Content } from '../server/contract/content.js';
import { ERRORS, NotepadError } from '../server/contract/errors.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createCaller } from '../server/routers/index.js';
import * as admin from '../server/services/admin.js';
import { createContextInner } from '../server/trpc.js';
import { readPdf, squash } from './render-pdf-text.js';
import { callerError, createTestEnv, seedGrant, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let app: FastifyInstance;
let runner: JobRunner;
let owner: { userId: string; token: string };
let other: { userId: string; token: string };
let templateRid: string;
let folderRid: string;

const TEMPLATE: Content = {
  blocks: [
    { type: 'heading', level: 1, content: [{ type: 'text', text: 'Hello ' }, { type: 'parameter', name: 'name' }] },
    {
      type: 'paragraph',
      content: [
        { type: 'parameter', name: 'amount' },
        { type: 'parameter', name: 'due' },
        { type: 'parameter', name: 'at' },
        { type: 'parameter', name: 'object' },
        { type: 'parameter', name: 'set' },
        { type: 'parameter', name: 'note' },
      ],
    },
  ],
};
const PARAMETERS: TemplateParameterDeclaration[] = [
  { name: 'name', type: 'string', required: true },
  { name: 'amount', type: 'double', required: true },
  { name: 'due', type: 'date', required: true },
  { name: 'at', type: 'dateTime', required: false },
  { name: 'object', type: 'objectRid', required: false },
  { name: 'set', type: 'objectSetRid', required: false },
  { name: 'note', type: 'string', required: false },
];
const VALID = {
  name: { type: 'string', value: 'Ada' },
  amount: { type: 'double', value: 12.5 },
  due: { type: 'date', value: '2026-02-28' },
} as const;

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  runner = createJobRunner({ deps: env.deps, files: env.files, render: (request) => renderPdf(request) });
  owner = await seedUser(env.deps, { name: 'Owner' });
  other = await seedUser(env.deps, { name: 'Other' });
  templateRid = (await admin.createTemplate(env.deps, { title: 'Letter', ownerId: owner.userId, content: TEMPLATE, parameters: PARAMETERS })).templateRid;
  folderRid = (await admin.createFolder(env.deps, { name: 'Letters', ownerId: owner.userId })).folderRid;
});
afterAll(async () => {
  await app.close();
  await runner.stop(0);
  await env.cleanup();
});

async function call(method: 'GET' | 'POST', url: string, body?: unknown, token = owner.token) {
  const response = await app.inject({
    method,
    url: `/api/v2/notepad${url}${url.includes('?') ? '&' : '?'}preview=true`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: response.json() as unknown };
}

function expectError(result: { status: number; body: unknown }, errorName: keyof typeof ERRORS, status: number, parameters?: object) {
  expect(result.status).toBe(status);
  expect(result.body).toMatchObject({ errorName, errorCode: ERRORS[errorName].errorCode, errorDescription: ERRORS[errorName].description });
  if (parameters) expect((result.body as { parameters: unknown }).parameters).toEqual(parameters);
}

const generate = (body: object, token?: string, rid = templateRid) => call('POST', `/templates/${rid}/generate`, body, token);

/** A finished generation job of version 1. */
async function generated(parameters: object = VALID, token?: string): Promise<string> {
  const result = await generate({ templateVersion: 1, templateParameters: parameters }, token);
  expect(result.status).toBe(200);
  await runner.drain();
  return result.body as string;
}

describe('templates.generate', () => {
  it('returns a bare GenerationJobRid and a job that succeeds with typed values', async () => {
    const result = await generate({ templateParameters: { ...VALID, at: { type: 'dateTime', timestamp: 1_767_225_600_000, timezone: 'Asia/Tokyo' }, object: { type: 'objectRid', value: 'ri.obj.1' } } });
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/^ri\.notepad\.main\.generation-job\.[0-9a-f-]{36}$/);
    const rid = result.body as string;
    expect((await call('GET', `/templates/${templateRid}/generationJobs/${rid}`)).body).toEqual({ rid, status: { type: 'running' } });
    await runner.drain();
    expect((await call('GET', `/templates/${templateRid}/generationJobs/${rid}`)).body).toEqual({ rid, status: { type: 'succeeded' } });
    const row = await env.rows.generationJob(rid);
    expect(row?.content?.blocks[1]).toEqual({
      type: 'paragraph',
      content: [
        { type: 'number', value: 12.5 },
        { type: 'date', value: '2026-02-28' },
        { type: 'dateTime', timestamp: 1_767_225_600_000, timezone: 'Asia/Tokyo' },
        { type: 'objectReference', objectRid: 'ri.obj.1', title: 'ri.obj.1' },
      ],
    });
  });

  it('templateVersion selects a published version; omitted (or null, as Foundry reads an optional field) means the latest', async () => {
    await admin.publishTemplateVersion(env.deps, { templateRid, content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'v2' }] }] }, parameters: [] });
    const latestResult = await generate({ templateParameters: {} });
    const latest = latestResult.body as string;
    expect((await env.rows.generationJob(latest))?.templateVersion).toBe(2);
    const latestByNull = await generate({ templateVersion: null, templateParameters: {} });
    expect(latestByNull.status).toBe(200);
    expect((await env.rows.generationJob(latestByNull.body as string))?.templateVersion).toBe(2);
    const first = await generate({ templateVersion: 1, templateParameters: VALID });
    expect(first.status).toBe(200);
    expectError(await generate({ templateVersion: 3, templateParameters: {} }), 'InvalidGenerationJobTemplateVersion', 400, { templateVersion: 3 });
    // Past what the version column holds (a 32-bit integer): a version no template has, not a query the database refuses.
    for (const [templateVersion, echoed] of [[9_999_999_999, 9_999_999_999], ['1234567890', 1_234_567_890], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]] as const) {
      expectError(await generate({ templateVersion, templateParameters: {} }), 'InvalidGenerationJobTemplateVersion', 400, { templateVersion: echoed });
    }
    // Past what a JSON number keeps exactly: not a version at all.
    expectError(await generate({ templateVersion: '1234567890123456', templateParameters: {} }), 'Default:InvalidArgument', 400);
    expectError(await generate({ templateVersion: 2 ** 53, templateParameters: {} }), 'Default:InvalidArgument', 400);
  });

  it('TemplateNotFound without a view grant or for an unknown template; GenerateTemplatePermissionDenied with view only', async () => {
    expectError(await generate({ templateVersion: 1, templateParameters: VALID }, other.token), 'TemplateNotFound', 404, { templateRid });
    const unknown = 'ri.notepad.main.notepad-template.00000000-0000-4000-8000-000000000000';
    expectError(await generate({ templateParameters: VALID }, undefined, unknown), 'TemplateNotFound', 404, { templateRid: unknown });
    await seedGrant(env.deps, other.userId, templateRid, 'view');
    expectError(await generate({ templateVersion: 1, templateParameters: VALID }, other.token), 'GenerateTemplatePermissionDenied', 403, { templateRid });
    await env.rows.deletePermissions({ principalId: other.userId });
  });

  it('MissingGenerationJobTemplateParameters lists every missing name, sorted', async () => {
    expectError(await generate({ templateVersion: 1, templateParameters: { name: VALID.name } }), 'MissingGenerationJobTemplateParameters', 400, {
      templateParameterNames: ['amount', 'due'],
    });
  });

  it.each([
    ['wrong type', { ...VALID, amount: { type: 'string', value: '12' } }, 'amount', /expected a value of type double/],
    ['bad date', { ...VALID, due: { type: 'date', value: '2026-02-30' } }, 'due', /calendar date/],
    ['unknown parameter', { ...VALID, colour: { type: 'string', value: 'red' } }, 'colour', /unknown parameter/],
    ['fractional timestamp', { ...VALID, at: { type: 'dateTime', timestamp: 1.5, timezone: 'Etc/UTC' } }, 'at', /whole milliseconds/],
  ])('InvalidGenerationJobTemplateParameter: %s', async (_label, parameters, name, reason) => {
    const result = await generate({ templateVersion: 1, templateParameters: parameters });
    expectError(result, 'InvalidGenerationJobTemplateParameter', 400);
    expect((result.body as { parameters: { templateParameterName: string; reason: string } }).parameters).toMatchObject({ templateParameterName: name, reason: expect.stringMatching(reason) });
  });

  it('parameters named like Object.prototype members are ordinary names: reported missing, and substituted', async () => {
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
    const tricky = (await admin.createTemplate(env.deps, {
      title: 'Tricky',
      ownerId: owner.userId,
      content: { blocks: names.map((name) => ({ type: 'paragraph', content: [{ type: 'text', text: `${name}=` }, { type: 'parameter', name }] })) },
      parameters: names.map((name) => ({ name, type: 'string', required: true })),
    })).templateRid;
    const raw = async (text: string) => {
      const response = await app.inject({
        method: 'POST',
        url: `/api/v2/notepad/templates/${tricky}/generate?preview=true`,
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        payload: text,
      });
      return { status: response.statusCode, body: response.json() as unknown };
    };
    expectError(await raw('{"templateParameters":{}}'), 'MissingGenerationJobTemplateParameters', 400, { templateParameterNames: [...names].sort() });
    expectError(await raw('{"templateParameters":{"toString":{"type":"string","value":"t"}}}'), 'MissingGenerationJobTemplateParameters', 400, {
      templateParameterNames: ['__proto__', 'constructor', 'hasOwnProperty'],
    });
    // Written as JSON text: an object literal's __proto__ key would set a prototype, not a property.
    const all = `{${names.map((name) => `"${name}":{"type":"string","value":"v-${name}"}`).join(',')}}`;
    const result = await raw(`{"templateParameters":${all}}`);
    expect(result.status).toBe(200);
    await runner.drain();
    const row = await env.rows.generationJob(result.body as string);
    expect(row?.status).toBe('succeeded');
    expect(row?.content?.blocks).toEqual(
      names.map((name) => ({ type: 'paragraph', content: [{ type: 'text', text: `${name}=` }, { type: 'text', text: `v-${name}` }] })),
    );
  });

  it('a date in the years 1-99 is that date, not one in the 1900s', async () => {
    const rid = await generated({ ...VALID, due: { type: 'date', value: '0099-12-31' } });
    const row = await env.rows.generationJob(rid);
    expect(row?.status).toBe('succeeded');
    expect(row?.content?.blocks[1]).toMatchObject({ content: [{ type: 'number' }, { type: 'date', value: '0099-12-31' }] });
    const pdf = await renderPdf({ title: 'Old', content: row!.content!, locale: 'en-US', timezone: 'Etc/UTC', exportedAt: 0 });
    expect(squash((await readPdf(pdf.pdf)).pages.join('\n'))).toContain('Dec 31, 99');
    expectError(await generate({ templateVersion: 1, templateParameters: { ...VALID, due: { type: 'date', value: '0099-02-29' } } }), 'InvalidGenerationJobTemplateParameter', 400);
  });

  it("a dateTime parameter is shown in its own zone, in the export's locale; a dateTime without a zone in the export's zone", async () => {
    const instant = Date.UTC(2026, 0, 15, 23, 30);
    const rid = await generated({ ...VALID, at: { type: 'dateTime', timestamp: instant, timezone: 'Asia/Tokyo' } });
    const row = await env.rows.generationJob(rid);
    const content: Content = { blocks: [...row!.content!.blocks, { type: 'paragraph', content: [{ type: 'text', text: 'own zone: ' }, { type: 'dateTime', timestamp: instant }] }] };
    const pdf = await renderPdf({ title: 'Zones', content, locale: 'de-DE', timezone: 'Europe/Berlin', exportedAt: 0 });
    const page = squash((await readPdf(pdf.pdf)).pages.join('\n'));
    const options = { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' } as const;
    expect(page).toContain(squash(new Intl.DateTimeFormat('de-DE', { ...options, timeZone: 'Asia/Tokyo' }).format(instant)));
    expect(page).toContain(squash(`own zone: ${new Intl.DateTimeFormat('de-DE', { ...options, timeZone: 'Europe/Berlin' }).format(instant)}`));
    expect(page).toContain('16. Jan. 2026'); // Tokyo's day, in German: 23:30 UTC is already the 16th there
  });

  it('InvalidGenerationJobTemplateParameter naming the parameter for a dateTime zone that is not an IANA Area/Location zone', async () => {
    for (const timezone of ['CET', '+01:00', 'Mars/Olympus']) {
      expectError(await generate({ templateVersion: 1, templateParameters: { ...VALID, at: { type: 'dateTime', timestamp: 0, timezone } } }), 'InvalidGenerationJobTemplateParameter', 400, {
        templateParameterName: 'at',
        reason: `timezone ${JSON.stringify(timezone)} is not an IANA zone of the form Area/Location, such as Europe/Paris`,
      });
    }
  });

  it('an unknown parameter value type is a schema error', async () => {
    expectError(await generate({ templateParameters: { name: { type: 'colour', value: 'red' } } }), 'Default:InvalidArgument', 400);
  });

  it('403 ApiUsageDenied without api:notepad-write', async () => {
    const exporter = await seedUser(env.deps, { scopes: ['api:notepad-export'] });
    expectError(await generate({ templateParameters: VALID }, exporter.token), 'ApiUsageDenied', 403, { missingScope: 'api:notepad-write' });
  });
});

describe('generationJobs.get', () => {
  it('GenerationJobNotFound for unknown, another template, another user, expired', async () => {
    const rid = await generated({ ...VALID });
    const otherTemplate = (await admin.createTemplate(env.deps, { title: 'Other', ownerId: owner.userId, content: { blocks: [] }, parameters: [] })).templateRid;
    expectError(await call('GET', `/templates/${otherTemplate}/generationJobs/${rid}`), 'GenerationJobNotFound', 404, { generationJobRid: rid, templateRid: otherTemplate });
    expectError(await call('GET', `/templates/${templateRid}/generationJobs/${rid}`, undefined, other.token), 'GenerationJobNotFound', 404);
    env.clock.advance(env.deps.config.generationJobTtlMs);
    expectError(await call('GET', `/templates/${templateRid}/generationJobs/${rid}`), 'GenerationJobNotFound', 404);
    expect((await runner.sweep()).generationJobs).toBeGreaterThan(0);
    expect(await env.rows.generationJob(rid)).toBeUndefined();
  });

  it('reports a failed generation with its message', async () => {
    const result = await generate({ templateParameters: {} });
    const rid = result.body as string;
    // Make generation fail: the version it names disappears before the runner gets to it.
    await env.rows.set('generationJobs', rid, { templateVersion: 99 });
    await runner.drain();
    expect((await call('GET', `/templates/${templateRid}/generationJobs/${rid}`)).body).toEqual({
      rid,
      status: { type: 'failed', errorMessage: 'Template version 99 no longer exists.' },
    });
  });
});

describe('generationJobs.saveDocument', () => {
  const save = (rid: string, body: object, token?: string) => call('POST', `/templates/${templateRid}/generationJobs/${rid}/saveDocument`, body, token);

  it('creates the document with view and export grants for the caller', async () => {
    const result = await generate({ templateVersion: 1, templateParameters: VALID });
    await runner.drain();
    const saved = await save(result.body as string, { parentFolderRid: folderRid, documentName: 'Letter to Ada' });
    expect(saved.status).toBe(200);
    const documentRid = (saved.body as { documentRid: string }).documentRid;
    const doc = await env.rows.document(documentRid);
    expect(doc).toMatchObject({ title: 'Letter to Ada', ownerId: owner.userId, parentFolderRid: folderRid });
    const grants = await env.rows.permissions({ resourceRid: documentRid });
    expect(grants.map((g) => g.action).sort()).toEqual(['export', 'view']);
    const exported = await call('POST', '/exportJobs/create', { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } });
    expect(exported.status).toBe(200);
  });

  it('every error, each exactly as the contract gives it', async () => {
    const ok = (await generate({ templateVersion: 1, templateParameters: VALID })).body as string;
    await runner.drain();
    const unknown = 'ri.notepad.main.generation-job.00000000-0000-4000-8000-000000000000';
    expectError(await save(unknown, { parentFolderRid: folderRid }), 'GenerationJobNotFound', 404, { generationJobRid: unknown, templateRid });
    expectError(await save(ok, { parentFolderRid: folderRid }, other.token), 'SaveDocumentGenerationJobPermissionDenied', 403, { generationJobRid: ok, templateRid });
    // However long the name: the permission comes first, as the contract orders it.
    expectError(await save(ok, { parentFolderRid: folderRid, documentName: 'x'.repeat(10_001) }, other.token), 'SaveDocumentGenerationJobPermissionDenied', 403, {
      generationJobRid: ok,
      templateRid,
    });

    const running = (await generate({ templateVersion: 1, templateParameters: VALID })).body as string;
    expectError(await save(running, { parentFolderRid: folderRid }), 'GenerationJobStatusRunning', 500, { generationJobRid: running });
    await env.rows.set('generationJobs', running, { status: 'failed', errorMessage: 'x' });
    expectError(await save(running, { parentFolderRid: folderRid }), 'GenerationJobStatusFailed', 500, { generationJobRid: running });

    expectError(await save(ok, { parentFolderRid: templateRid }), 'InvalidFolder', 400, { resourceRid: templateRid });
    expectError(await save(ok, { parentFolderRid: 'not a rid' }), 'Default:InvalidArgument', 400);
    const unknownFolder = 'ri.compass.main.folder.00000000-0000-4000-8000-000000000000';
    expectError(await save(ok, { parentFolderRid: unknownFolder }), 'FolderNotFound', 404, { folderRid: unknownFolder });
    const othersFolder = (await admin.createFolder(env.deps, { name: 'Theirs', ownerId: other.userId })).folderRid;
    expectError(await save(ok, { parentFolderRid: othersFolder }), 'FolderNotFound', 404, { folderRid: othersFolder });
    await seedGrant(env.deps, owner.userId, othersFolder, 'view');
    expectError(await save(ok, { parentFolderRid: othersFolder }), 'CreateDocumentPermissionDenied', 403, { parentFolderRid: othersFolder });

    for (const displayName of ['', ' ', '.', '..', 'a/b', 'x'.repeat(701), 'tab\there', 'bell\u0007', 'del\u007f']) {
      expectError(await save(ok, { parentFolderRid: folderRid, documentName: displayName }), 'InvalidDisplayName', 400, { displayName });
    }
    // A name of any length is the display-name rule's to refuse; the error echoes the start of a very long one.
    const huge = `${'é'.repeat(999)}😀${'x'.repeat(20_000)}`;
    expectError(await save(ok, { parentFolderRid: folderRid, documentName: huge }), 'InvalidDisplayName', 400, { displayName: `${'é'.repeat(999)}😀…` });
    expect((await save(ok, { parentFolderRid: folderRid, documentName: 'x'.repeat(700) })).status).toBe(200);
    expect((await save(ok, { parentFolderRid: folderRid })).status).toBe(200); // named after the template
    expectError(await save(ok, { parentFolderRid: folderRid }), 'ResourceNameAlreadyExists', 409, { parentFolderRid: folderRid, displayName: 'Letter' });
    // A null documentName is an absent one: named after the template, so that name is taken now.
    expectError(await save(ok, { parentFolderRid: folderRid, documentName: null }), 'ResourceNameAlreadyExists', 409, { parentFolderRid: folderRid, displayName: 'Letter' });
  });

  it('an export of another user\'s generation job is ExportGenerationJobPermissionDenied', async () => {
    const rid = (await generate({ templateVersion: 1, templateParameters: VALID })).body as string;
    await runner.drain();
    await seedGrant(env.deps, other.userId, templateRid, 'generate');
    const result = await call('POST', '/exportJobs/create', { exportJobSource: { type: 'generationJobSource', generationJobRid: rid, templateRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } }, other.token);
    expectError(result, 'ExportGenerationJobPermissionDenied', 403, { generationJobRid: rid });
  });
});

describe('the same errors over tRPC', () => {
  const caller = (token: string) => createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${token}` }));
  const errorOf = callerError;

  it('generate, get and saveDocument raise catalog errors', async () => {
    const stranger = await seedUser(env.deps, { name: 'Stranger' });
    expect((await errorOf(caller(stranger.token).notepad.templates.generate({ templateRid, templateParameters: VALID })))?.errorName).toBe('TemplateNotFound');
    expect((await errorOf(caller(owner.token).notepad.templates.generate({ templateRid, templateVersion: 1, templateParameters: {} })))?.parameters).toEqual({
      templateParameterNames: ['amount', 'due', 'name'],
    });
    const rid = await caller(owner.token).notepad.templates.generate({ templateRid, templateVersion: 1, templateParameters: VALID });
    expect(await caller(owner.token).notepad.generationJobs.get({ templateRid, generationJobRid: rid })).toEqual({ rid, status: { type: 'running' } });
    expect((await errorOf(caller(owner.token).notepad.generationJobs.saveDocument({ templateRid, generationJobRid: rid, parentFolderRid: folderRid })))?.errorName).toBe(
      'GenerationJobStatusRunning',
    );
  });
});
