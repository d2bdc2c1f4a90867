import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { encodePageToken } from '../server/contract/page-token.js';
import { newRid } from '../server/contract/rids.js';
import { createCaller } from '../server/routers/index.js';
import { createContextInner } from '../server/trpc.js';
import { callerError, createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';

/** exportJobs.list, an extension (docs/api.md, "Extensions"), over REST and tRPC. */

let env: TestEnv;
let app: FastifyInstance;

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
});
afterAll(async () => {
  await app.close();
  await env.cleanup();
});

interface Page {
  data: Array<{ rid: string; status: { type: string } }>;
  nextPageToken?: string;
}

/** A user of their own with a document, so each test's list is its own. */
async function freshUser(name: string) {
  const user = await seedUser(env.deps, { name });
  return { ...user, documentRid: await seedDocument(env.deps, user.userId, { title: `${name}'s report` }) };
}

async function createJob(user: { token: string; documentRid: string }): Promise<string> {
  env.clock.advance(1);
  const response = await app.inject({
    method: 'POST',
    url: '/api/v2/notepad/exportJobs/create?preview=true',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid: user.documentRid }, exportJobTarget: target }),
  });
  expect(response.statusCode).toBe(200);
  return (response.json() as { rid: string }).rid;
}

async function list(token: string, query = '') {
  const response = await app.inject({ method: 'GET', url: `/api/v2/notepad/exportJobs?preview=true${query}`, headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: response.json() as Page & Record<string, unknown>, raw: response.body };
}

const trpc = (token: string) => createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${token}` }));
/** A running job no runner has claimed (ExportJob.progress, an extension). */
const QUEUED = { stage: 'queued', pagesRendered: 0 };

describe('REST GET exportJobs', () => {
  it("answers the caller's own unexpired jobs, newest first, and no token on the last page", async () => {
    const me = await freshUser('Lister');
    const someoneElse = await freshUser('Someone else');
    const mine = [await createJob(me), await createJob(me), await createJob(me)];
    await createJob(someoneElse);
    const result = await list(me.token);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: [...mine].reverse().map((rid) => ({ rid, status: { type: 'running' }, progress: QUEUED })) });
    expect(result.raw).not.toContain('nextPageToken');

    // An expired job is gone from the list as from exportJobs.get.
    await env.rows.set('exportJobs', mine[1]!, { expiresAt: env.clock.now });
    expect((await list(me.token)).body.data.map((j) => j.rid)).toEqual([mine[2], mine[0]]);
  });

  it('answers an empty list to a user without jobs', async () => {
    expect((await list((await await freshUser('Nobody')).token)).body).toEqual({ data: [] });
  });

  it('filters by status and shows each job as exportJobs.get does', async () => {
    const me = await freshUser('Filter');
    const [a, b, c] = [await createJob(me), await createJob(me), await createJob(me)];
    await env.rows.set('exportJobs', a, { status: 'failed', errorMessage: 'broke', errorCode: 'INTERNAL' });
    const fileRid = newRid('file');
    await env.rows.set('exportJobs', b, { status: 'succeeded', fileRid });
    expect((await list(me.token, '&status=failed')).body.data).toEqual([{ rid: a, status: { type: 'failed', errorMessage: 'broke', errorCode: 'INTERNAL' } }]);
    expect((await list(me.token, '&status=succeeded')).body.data).toEqual([{ rid: b, status: { type: 'succeeded', fileRid } }]);
    expect((await list(me.token, '&status=running')).body.data).toEqual([{ rid: c, status: { type: 'running' }, progress: QUEUED }]);
  });

  it('pages with pageSize and an opaque token, with no duplicates or gaps while new jobs are created', async () => {
    const me = await freshUser('Pager');
    const before: string[] = [];
    for (let i = 0; i < 7; i++) before.push(await createJob(me));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await list(me.token, `&pageSize=3${token ? `&pageToken=${token}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((j) => j.rid));
      token = page.body.nextPageToken;
      if (token) expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      // New jobs arrive between pages: newer than every job listed, they belong before page one.
      await createJob(me);
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual([...before].reverse());
  });

  it('pages correctly through jobs created in the same millisecond (ties broken by rid)', async () => {
    const me = await freshUser('Same instant');
    const rids: string[] = [];
    for (let i = 0; i < 5; i++) rids.push(await createJob(me));
    // Every job of this user (all of them are the five): the same instant.
    for (const rid of rids) await env.rows.set('exportJobs', rid, { createdAt: env.clock.now });
    const first = await list(me.token, '&pageSize=2');
    const second = await list(me.token, `&pageSize=2&pageToken=${first.body.nextPageToken!}`);
    const third = await list(me.token, `&pageSize=2&pageToken=${second.body.nextPageToken!}`);
    expect(third.body.nextPageToken).toBeUndefined();
    const seen = [...first.body.data, ...second.body.data, ...third.body.data].map((j) => j.rid);
    expect(seen).toEqual([...rids].sort().reverse());
  });

  it('defaults to 100 a page and answers up to 1000', async () => {
    const me = await freshUser('Many');
    for (let i = 0; i < 101; i++) await createJob(me);
    const page = await list(me.token);
    expect(page.body.data).toHaveLength(100);
    expect(page.body.nextPageToken).toEqual(expect.any(String));
    expect((await list(me.token, '&pageSize=1000')).body.data).toHaveLength(101);
  });

  it.each([
    ['pageSize=0', 'pageSize'],
    ['pageSize=1001', 'pageSize'],
    ['pageSize=ten', 'pageSize'],
    ['pageSize=1.5', 'pageSize'],
    ['pageSize=1&pageSize=2', 'pageSize'],
    ['pageToken=not-a-token', 'pageToken'],
    ['pageToken=%2F%2F%2F', 'pageToken'],
    [`pageToken=${Buffer.from('[1,"ri.notepad.main.file.x"]').toString('base64url')}`, 'pageToken'],
    ['status=queued', 'status'],
  ])('answers 400 Default:InvalidArgument to %s', async (query, parameter) => {
    const result = await list((await await freshUser('Bad query')).token, `&${query}`);
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ errorCode: 'INVALID_ARGUMENT', errorName: 'Default:InvalidArgument', parameters: { parameter } });
  });

  it('needs preview=true and the api:notepad-export scope', async () => {
    const me = await freshUser('Preview');
    const noPreview = await app.inject({ method: 'GET', url: '/api/v2/notepad/exportJobs', headers: { authorization: `Bearer ${me.token}` } });
    expect(noPreview.json()).toMatchObject({ errorName: 'ApiFeaturePreviewUsageOnly' });
    const writeOnly = await seedUser(env.deps, { scopes: ['api:notepad-write'] });
    expect((await list(writeOnly.token)).body).toMatchObject({ errorName: 'ApiUsageDenied', parameters: { missingScope: 'api:notepad-export' } });
  });
});

describe('tRPC notepad.exportJobs.list', () => {
  it('answers the same pages as REST, and refuses a bad token', async () => {
    const me = await freshUser('tRPC lister');
    const rids = [await createJob(me), await createJob(me), await createJob(me)];
    const first = await trpc(me.token).notepad.exportJobs.list({ pageSize: 2 });
    expect(first.data.map((j) => j.rid)).toEqual([rids[2], rids[1]]);
    expect(first).toEqual((await list(me.token, '&pageSize=2')).body);
    const second = await trpc(me.token).notepad.exportJobs.list({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second).toEqual({ data: [{ rid: rids[0], status: { type: 'running' }, progress: QUEUED }] });
    expect(await trpc(me.token).notepad.exportJobs.list({ status: 'failed' })).toEqual({ data: [] });
    const bad = await callerError(trpc(me.token).notepad.exportJobs.list({ pageToken: encodePageToken({ createdAt: 1, rid: rids[0]! }).slice(1) }));
    expect(bad).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'pageToken' } });
    const tooMany = await callerError(trpc(me.token).notepad.exportJobs.list({ pageSize: 1001 }));
    expect(tooMany).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'pageSize' } });
  });
});
