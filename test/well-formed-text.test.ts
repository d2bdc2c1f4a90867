import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { count } from 'drizzle-orm';
import { documents, generationJobs } from '../db/schema.js';
import { buildApp } from '../server/app.js';
import * as admin from '../server/services/admin.js';
import { createSqliteTestEnv, seedUser, type SqliteTestEnv } from './helpers.js';

let env: SqliteTestEnv;
let app: FastifyInstance;
let user: { userId: string; token: string };
let adminToken: string;
let templateRid: string;

beforeAll(async () => {
  env = await createSqliteTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  user = await seedUser(env.deps);
  adminToken = (await seedUser(env.deps, { scopes: ['notepad:admin'] })).token;
  templateRid = (await admin.createTemplate(env.deps, {
    title: 'Greeting',
    ownerId: user.userId,
    content: { blocks: [{ type: 'paragraph', content: [{ type: 'parameter', name: 'name' }] }] },
    parameters: [{ name: 'name', type: 'string', required: true }],
  })).templateRid;
});
afterAll(async () => {
  await app.close();
  env.cleanup();
});

const post = (url: string, token: string, body: unknown) =>
  app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
const rows = () => ({
  documents: env.db.select({ n: count() }).from(documents).get()?.n,
  generationJobs: env.db.select({ n: count() }).from(generationJobs).get()?.n,
});

describe('text that could not be stored as sent', () => {
  it('a lone surrogate anywhere in a body is Default:InvalidArgument naming where, over REST and tRPC; nothing is written', async () => {
    const before = rows();
    // JSON.stringify writes a lone surrogate as the escape \ud800: what a client would send.
    const rest = await post(`/api/v2/notepad/templates/${templateRid}/generate?preview=true`, user.token, {
      templateParameters: { name: { type: 'string', value: 'Ada \uD800' } },
    });
    expect(rest.statusCode).toBe(400);
    expect(rest.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'templateParameters.name.value' } });
    const key = await post(`/api/v2/notepad/templates/${templateRid}/generate?preview=true`, user.token, {
      templateParameters: { ['n\uDC00']: { type: 'string', value: 'x' } },
    });
    expect(key.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'templateParameters.n\uDC00' } });

    const trpc = await post('/trpc/admin.documents.create', adminToken, {
      title: 'Fine',
      ownerId: user.userId,
      content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'half \uDBFF a pair' }] }] },
    });
    expect(trpc.statusCode).toBe(400);
    expect(trpc.json()).toMatchObject({ error: { data: { errorName: 'Default:InvalidArgument', parameters: { parameter: 'content.blocks[0].content[0].text' } } } });
    expect(rows()).toEqual(before);
  });

  it('whole surrogate pairs (emoji, rare CJK) are ordinary text', async () => {
    const rest = await post(`/api/v2/notepad/templates/${templateRid}/generate?preview=true`, user.token, {
      templateParameters: { name: { type: 'string', value: 'Ada \u{1F600} \u{20BB7}' } },
    });
    expect(rest.statusCode).toBe(200);
    const trpc = await post('/trpc/admin.documents.create', adminToken, {
      title: 'Smile \u{1F600}',
      ownerId: user.userId,
      content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: '\u{1F600}' }] }] },
    });
    expect(trpc.statusCode).toBe(200);
  });
});
