import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { newRid } from '../server/contract/rids.js';
import { createDeps } from '../server/deps.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { createCaller } from '../server/routers/index.js';
import { createContextInner } from '../server/trpc.js';
import { callerError, createTestEnv, seedDocument, seedGrant, seedTemplate, seedUser, type TestEnv } from './helpers.js';

/** The Idempotency-Key extension (docs/api.md, "Extensions"): exportJobs.create and templates.generate. */

let env: TestEnv;
let app: FastifyInstance;
let owner: { userId: string; token: string };
let other: { userId: string; token: string };
let documentRid: string;
let otherDocumentRid: string;
let hiddenDocumentRid: string;
let templateRid: string;

const CREATE = '/api/v2/notepad/exportJobs/create?preview=true';
const generateUrl = () => `/api/v2/notepad/templates/${templateRid}/generate?preview=true`;
const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;
const bodyFor = (rid: string) => ({ exportJobSource: { type: 'documentSource' as const, documentRid: rid }, exportJobTarget: target });

let keys = 0;
const freshKey = () => `key-${++keys}-${Date.now()}`;

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  owner = await seedUser(env.deps, { name: 'Owner' });
  other = await seedUser(env.deps, { name: 'Other' });
  documentRid = await seedDocument(env.deps, owner.userId);
  otherDocumentRid = await seedDocument(env.deps, other.userId, { title: 'Theirs' });
  hiddenDocumentRid = await seedDocument(env.deps, other.userId, { title: 'Hidden for now' });
  templateRid = await seedTemplate(env.deps, owner.userId);
});
afterAll(async () => {
  await app.close();
  await env.cleanup();
});

const countJobs = async () => (await env.rows.exportJobs()).length;
const countGenerations = async () => (await env.rows.generationJobs()).length;
const countKeys = async () => (await env.rows.idempotencyKeys()).length;

async function post(url: string, body: unknown, opts: { key?: string; token?: string; on?: FastifyInstance } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? owner.token}`, 'content-type': 'application/json' };
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  const response = await (opts.on ?? app).inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });
  return { status: response.statusCode, body: response.json() as unknown, replayed: response.headers['idempotent-replayed'] };
}
const create = (body: unknown, opts: { key?: string; token?: string; on?: FastifyInstance } = {}) => post(CREATE, body, opts);
const ridOf = (result: { body: unknown }) => (result.body as { rid: string }).rid;

const trpc = (token = owner.token) => createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${token}` }));

describe('REST exportJobs.create with an Idempotency-Key', () => {
  it('answers the same job, as it is now, with Idempotent-Replayed: true, for the same request', async () => {
    const key = freshKey();
    const first = await create(bodyFor(documentRid), { key });
    expect(first.status).toBe(200);
    expect(first.replayed).toBeUndefined();
    const before = await countJobs();
    await env.rows.set('exportJobs', ridOf(first), { status: 'failed', errorMessage: 'stopped', errorCode: 'INTERNAL' });
    // The same request in another spelling: short names, other key order, an unknown member.
    const again = await create(
      { target: { userTimezone: target.userTimezone, type: 'pdf', userLocale: target.userLocale }, source: { documentRid, type: 'documentSource' }, extra: 1 },
      { key },
    );
    expect(again.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual({ rid: ridOf(first), status: { type: 'failed', errorMessage: 'stopped', errorCode: 'INTERNAL' } });
    expect(await countJobs()).toBe(before);
  });

  it('answers 409 IdempotencyKeyReused for the same key with another request, and makes nothing', async () => {
    const key = freshKey();
    expect((await create(bodyFor(documentRid), { key })).status).toBe(200);
    const before = await countJobs();
    const reused = await create({ ...bodyFor(documentRid), exportJobTarget: { ...target, userLocale: 'de-DE' } }, { key });
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ errorCode: 'CONFLICT', errorName: 'IdempotencyKeyReused', parameters: { idempotencyKey: key } });
    expect(await countJobs()).toBe(before);
  });

  it('stores nothing for a request that fails: the same key may be retried and then makes the job', async () => {
    const key = freshKey();
    const keysBefore = await countKeys();
    const denied = await create(bodyFor(hiddenDocumentRid), { key });
    expect(denied.status).toBe(404);
    expect((denied.body as { errorName: string }).errorName).toBe('DocumentNotFound');
    expect(await countKeys()).toBe(keysBefore);
    await seedGrant(env.deps, owner.userId, hiddenDocumentRid, 'view');
    await seedGrant(env.deps, owner.userId, hiddenDocumentRid, 'export');
    const retried = await create(bodyFor(hiddenDocumentRid), { key });
    expect(retried.status).toBe(200);
    expect(retried.replayed).toBeUndefined();
    expect(await countKeys()).toBe(keysBefore + 1);
  });

  it('makes one job for two identical requests racing with one key; both are answered it', async () => {
    const key = freshKey();
    const before = await countJobs();
    const [a, b] = await Promise.all([create(bodyFor(documentRid), { key }), create(bodyFor(documentRid), { key })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(ridOf(a)).toBe(ridOf(b));
    expect([a.replayed, b.replayed].filter((r) => r === 'true')).toHaveLength(1);
    expect(await countJobs()).toBe(before + 1);
  });

  it('scopes keys to the user: another user with the same key gets a job of their own', async () => {
    const key = freshKey();
    const mine = await create(bodyFor(documentRid), { key });
    const theirs = await create(bodyFor(otherDocumentRid), { key, token: other.token });
    expect(theirs.status).toBe(200);
    expect(theirs.replayed).toBeUndefined();
    expect(ridOf(theirs)).not.toBe(ridOf(mine));
  });

  it('without the header, creates a job per request and sends no Idempotent-Replayed; a body member idempotencyKey is ignored', async () => {
    const before = await countJobs();
    const body = { ...bodyFor(documentRid), idempotencyKey: 'in-the-body' };
    const a = await create(body);
    const b = await create(body);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(ridOf(a)).not.toBe(ridOf(b));
    expect([a.replayed, b.replayed]).toEqual([undefined, undefined]);
    expect(await countJobs()).toBe(before + 2);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a control character', 'a\tb'],
  ])('refuses a key that is %s: 400 Default:InvalidArgument naming the header, nothing made', async (_, key) => {
    const before = await countJobs();
    const result = await create(bodyFor(documentRid), { key });
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'Idempotency-Key' } });
    expect(await countJobs()).toBe(before);
  });

  it('refuses the header given twice (Node would join the two into one key, "a, b"): 400 naming it, nothing made', async () => {
    const before = await countJobs();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v2/notepad/exportJobs/create?preview=true',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json', 'idempotency-key': ['a', 'b'] },
      payload: JSON.stringify(bodyFor(documentRid)),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'Idempotency-Key', message: 'must be given once' } });
    expect(await countJobs()).toBe(before);
  });

  it('accepts a key of 255 printable characters, spaces and symbols included', async () => {
    const key = `${'~ !'.repeat(85)}`;
    expect(key).toHaveLength(255);
    const first = await create(bodyFor(documentRid), { key });
    const again = await create(bodyFor(documentRid), { key });
    expect(first.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(ridOf(again)).toBe(ridOf(first));
  });

  it('replays after a restart: a new app on the reopened database answers the same job', async () => {
    const key = freshKey();
    const first = await create(bodyFor(documentRid), { key });
    const database = await env.connectAgain();
    const restarted = await buildApp({ deps: createDeps({ stores: database.stores, now: () => env.clock.now, logger: env.logger }), files: env.files, logger: env.logger });
    try {
      const again = await create(bodyFor(documentRid), { key, on: restarted });
      expect(again.status).toBe(200);
      expect(again.replayed).toBe('true');
      expect(ridOf(again)).toBe(ridOf(first));
      expect((await create({ ...bodyFor(documentRid), exportJobTarget: { ...target, userTimezone: 'UTC' } }, { key, on: restarted })).status).toBe(409);
    } finally {
      await restarted.close();
      await database.close();
    }
  });

  it('forgets a key after its TTL (the key is free again) and the sweep deletes it', async () => {
    const key = freshKey();
    const first = await create(bodyFor(documentRid), { key });
    env.clock.advance(env.deps.config.idempotencyTtlMs + 1);
    const later = await create({ ...bodyFor(documentRid), exportJobTarget: { ...target, userLocale: 'fr-FR' } }, { key });
    expect(later.status).toBe(200);
    expect(later.replayed).toBeUndefined();
    expect(ridOf(later)).not.toBe(ridOf(first));
    const expired = (await countKeys()) - 1; // every key but the one just made has expired
    const runner = createJobRunner({ deps: env.deps, files: env.files, render: () => Promise.reject(new Error('no rendering here')), coordination: env.coordination });
    expect((await runner.sweep()).idempotencyKeys).toBe(expired);
    expect(await env.rows.idempotencyKeys()).toEqual([expect.objectContaining({ key, jobRid: ridOf(later) })]);
  });
});

describe('tRPC notepad.exportJobs.create with idempotencyKey', () => {
  it('replays the same request, refuses another with IdempotencyKeyReused, and checks the key', async () => {
    const key = freshKey();
    const first = await trpc().notepad.exportJobs.create({ ...bodyFor(documentRid), idempotencyKey: key });
    const before = await countJobs();
    const again = await trpc().notepad.exportJobs.create({ exportJobTarget: target, exportJobSource: { type: 'documentSource' as const, documentRid }, idempotencyKey: key });
    expect(again).toEqual(first);
    expect(await countJobs()).toBe(before);
    const reused = await callerError(trpc().notepad.exportJobs.create({ ...bodyFor(documentRid), exportJobTarget: { ...target, userLocale: 'ja-JP' }, idempotencyKey: key }));
    expect(reused).toMatchObject({ errorName: 'IdempotencyKeyReused', parameters: { idempotencyKey: key } });
    const invalid = await callerError(trpc().notepad.exportJobs.create({ ...bodyFor(documentRid), idempotencyKey: '' }));
    expect(invalid).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'idempotencyKey' } });
    expect(await countJobs()).toBe(before);
  });

  it('shares the key with REST: a REST replay of a tRPC create answers the same job', async () => {
    const key = freshKey();
    const first = await trpc().notepad.exportJobs.create({ ...bodyFor(documentRid), idempotencyKey: key });
    const again = await create(bodyFor(documentRid), { key });
    expect(again.replayed).toBe('true');
    expect(ridOf(again)).toBe(first.rid);
  });
});

describe('templates.generate with an Idempotency-Key', () => {
  const request = { templateParameters: {} };

  it('REST: the same request answers the same GenerationJobRid with Idempotent-Replayed; another is 409; nothing more is made', async () => {
    const key = freshKey();
    const first = await post(generateUrl(), { templateVersion: 1, templateParameters: {} }, { key });
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^ri\.notepad\.main\.generation-job\./);
    const before = await countGenerations();
    // The same request: a version as a string of digits is the same version.
    const again = await post(generateUrl(), { templateParameters: {}, templateVersion: '1' }, { key });
    expect(again).toEqual({ status: 200, body: first.body, replayed: 'true' });
    // Another: no version means the latest, whichever that is then.
    const reused = await post(generateUrl(), request, { key });
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ errorName: 'IdempotencyKeyReused', parameters: { idempotencyKey: key } });
    expect(await countGenerations()).toBe(before);
  });

  it('REST: an optional field sent as null is the same request as without it', async () => {
    const key = freshKey();
    const first = await post(generateUrl(), { templateVersion: null, templateParameters: {} }, { key });
    expect(first.status).toBe(200);
    expect(await post(generateUrl(), request, { key })).toEqual({ status: 200, body: first.body, replayed: 'true' });
  });

  it('REST: a key used by a create is another request for generate (409)', async () => {
    const key = freshKey();
    expect((await create(bodyFor(documentRid), { key })).status).toBe(200);
    expect((await post(generateUrl(), request, { key })).status).toBe(409);
  });

  it('REST: a failed generate stores nothing; a bad key is 400 naming the header', async () => {
    const key = freshKey();
    const keysBefore = await countKeys();
    const missing = await post(`/api/v2/notepad/templates/${newRid('notepad-template', randomUUID())}/generate?preview=true`, request, { key });
    expect(missing.body).toMatchObject({ errorName: 'TemplateNotFound' });
    expect(missing.status).toBe(404);
    expect(await countKeys()).toBe(keysBefore);
    const bad = await post(generateUrl(), request, { key: 'x'.repeat(256) });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'Idempotency-Key' } });
  });

  it('REST: two identical generates racing with one key make one job', async () => {
    const key = freshKey();
    const before = await countGenerations();
    const [a, b] = await Promise.all([post(generateUrl(), request, { key }), post(generateUrl(), request, { key })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toBe(b.body);
    expect(await countGenerations()).toBe(before + 1);
  });

  it('tRPC: replays the same GenerationJobRid and refuses another request', async () => {
    const key = freshKey();
    const first = await trpc().notepad.templates.generate({ templateRid, templateParameters: {}, idempotencyKey: key });
    expect(await trpc().notepad.templates.generate({ templateRid, templateParameters: {}, idempotencyKey: key })).toBe(first);
    const reused = await callerError(trpc().notepad.templates.generate({ templateRid, templateVersion: 1, templateParameters: {}, idempotencyKey: key }));
    expect(reused).toMatchObject({ errorName: 'IdempotencyKeyReused' });
  });

  it('never keeps a key longer than its job: after the generation job expires, the key is free', async () => {
    const key = freshKey();
    const first = await post(generateUrl(), request, { key });
    env.clock.advance(env.deps.config.generationJobTtlMs + 1);
    const later = await post(generateUrl(), { templateVersion: 1, templateParameters: {} }, { key });
    expect(later.status).toBe(200);
    expect(later.body).not.toBe(first.body);
  });
});
