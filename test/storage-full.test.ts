import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { count, DrizzleQueryError } from 'drizzle-orm';
import pg from 'pg';
import { exportJobs, generationJobs } from '../db/schema.js';
import { buildApp } from '../server/app.js';
import type { LocalFileStore } from '../server/files/store.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createStorageHealth, isOutOfSpace } from '../server/storage-health.js';
import { createSqliteTestEnv, seedDocument, seedTemplate, seedUser, type SqliteTestEnv } from './helpers.js';

let env: SqliteTestEnv;
let app: FastifyInstance;
let runner: JobRunner;
let user: { userId: string; token: string };
let documentRid: string;
let freeBytes: Record<'database' | 'files', number>;
let storeFull: boolean;

const MIN_FREE = 64 * 1024 * 1024;

/** The real store, whose writes fail like a full disk while `storeFull` is set. */
const fillable = (store: LocalFileStore): LocalFileStore => ({
  ...store,
  dir: store.dir,
  async write(key, bytes) {
    if (storeFull) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return store.write(key, bytes);
  },
});

beforeEach(async () => {
  freeBytes = { database: 10 * MIN_FREE, files: 10 * MIN_FREE };
  storeFull = false;
  let clock!: () => number;
  env = await createSqliteTestEnv({
    storage: createStorageHealth({
      now: () => clock(),
      dirs: { database: 'db-dir', files: 'files-dir' },
      minFreeBytes: MIN_FREE,
      reportTtlMs: 10_000,
      statfs: async (dir) => ({ bavail: freeBytes[dir === 'db-dir' ? 'database' : 'files'], bsize: 1 }),
    }),
  });
  clock = () => env.clock.now;
  const files = fillable(env.files);
  app = await buildApp({ deps: env.deps, files, logger: env.logger });
  runner = createJobRunner({ deps: env.deps, files, render: (request) => renderPdf(request) });
  user = await seedUser(env.deps);
  documentRid = await seedDocument(env.deps, user.userId);
});
afterEach(async () => {
  await app.close();
  await runner.stop(0);
  env.cleanup();
});

const rest = (method: 'GET' | 'POST', url: string, body?: unknown) =>
  app.inject({
    method,
    url: `/api/v2/notepad${url}?preview=true`,
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
const create = () =>
  rest('POST', '/exportJobs/create', { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } });
const jobCount = () => env.db.select({ n: count() }).from(exportJobs).get()?.n ?? 0;
const health = async () => (await app.inject({ method: 'GET', url: '/health' })).json<{ status: string; problems?: Array<{ store: string }> }>();

function expectStorageFull(response: Awaited<ReturnType<typeof create>>, store: string) {
  expect(response.statusCode).toBe(503);
  expect(response.headers['retry-after']).toBe('30');
  // Past what the official client's retries would wait: it is told not to retry in vain.
  expect(response.headers['qos-retry-hint']).toBe('do-not-retry');
  expect(response.json()).toMatchObject({ errorCode: 'SERVICE_UNAVAILABLE', errorName: 'StorageFull', parameters: { store } });
}

describe('full disks', () => {
  it('too little free space on either disk: creates and generates are refused up front (503 StorageFull), nothing is written, /health says why', async () => {
    await env.deps.storage.start();
    expect(await health()).toEqual({ status: 'ok' });
    freeBytes.files = MIN_FREE - 1;
    await env.deps.storage.start(); // probe again now rather than in a second
    const before = jobCount();
    expectStorageFull(await create(), 'files');
    const templateRid = await seedTemplate(env.deps, user.userId);
    const generate = await rest('POST', `/templates/${templateRid}/generate`, { templateParameters: {} });
    expect(generate.statusCode).toBe(503);
    expect(env.db.select({ n: count() }).from(generationJobs).get()?.n).toBe(0);
    expect(jobCount()).toBe(before);
    expect(await health()).toMatchObject({ status: 'degraded', problems: [{ store: 'files' }] });

    freeBytes.files = 10 * MIN_FREE;
    freeBytes.database = 0;
    await env.deps.storage.start();
    expectStorageFull(await create(), 'database');
    // Over tRPC too, with the header.
    const trpc = await app.inject({
      method: 'POST',
      url: '/trpc/notepad.exportJobs.create',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } }),
    });
    expect(trpc.statusCode).toBe(503);
    expect(trpc.headers['retry-after']).toBe('30');
    expect(trpc.headers['qos-retry-hint']).toBe('do-not-retry');
    expect(trpc.json()).toMatchObject({ error: { data: { errorName: 'StorageFull', httpStatus: 503 } } });

    freeBytes.database = 10 * MIN_FREE;
    await env.deps.storage.start();
    expect((await create()).statusCode).toBe(200);
    expect(await health()).toEqual({ status: 'ok' });
  });

  it('a file store that fills up: the job fails saying so, further creates are refused until a write succeeds again', async () => {
    storeFull = true;
    const rid = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    const status = (await rest('GET', `/exportJobs/${rid}`)).json<{ status: Record<string, unknown> }>().status;
    expect(status).toMatchObject({ type: 'failed', errorCode: 'INTERNAL', errorMessage: expect.stringMatching(/file store is full/) });
    expect(await health()).toMatchObject({ status: 'degraded', problems: [{ store: 'files', reason: expect.stringMatching(/no space/) }] });
    expectStorageFull(await create(), 'files');

    storeFull = false;
    env.clock.advance(10_001); // the report ages out: work is taken again, and the next write clears it
    const next = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    expect((await rest('GET', `/exportJobs/${next}`)).json<{ status: Record<string, unknown> }>().status).toMatchObject({ type: 'succeeded' });
    expect(await health()).toEqual({ status: 'ok' });
  });

  it('a database that refuses writes: the job stays claimable, creates are refused, and once it accepts writes the job ends', async () => {
    const rid = (await create()).json<{ rid: string }>().rid;
    // Every job write fails as SQLite fails on a full disk, until `databaseFull` is cleared.
    let databaseFull = true;
    const real = env.deps.stores.jobs;
    const sqliteFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    env.deps.stores.jobs = {
      ...real,
      commitExportSuccess: (...args) => {
        if (databaseFull) throw sqliteFull();
        return real.commitExportSuccess(...args);
      },
      failExport: (...args) => {
        if (databaseFull) throw sqliteFull();
        return real.failExport(...args);
      },
    };
    await runner.drain(); // rendered, but neither its success nor its failure can be written
    expect((await rest('GET', `/exportJobs/${rid}`)).json<{ status: { type: string } }>().status.type).toBe('running');
    expect(await health()).toMatchObject({ status: 'degraded', problems: [{ store: 'database' }] });
    // A create would still fit, but it would never run: refused up front.
    expectStorageFull(await create(), 'database');

    databaseFull = false;
    env.clock.advance(env.deps.config.jobs.leaseMs + 1); // the failed attempt's lease lapses; the report ages out
    await runner.drain();
    expect((await rest('GET', `/exportJobs/${rid}`)).json<{ status: { type: string } }>().status.type).toBe('succeeded');
    expect(await health()).toEqual({ status: 'ok' });
    expect((await create()).statusCode).toBe(200);
  });

  it('an insert the database refuses for lack of space is StorageFull, not an internal error', async () => {
    const sqlite = env.database.sqlite;
    sqlite.pragma(`max_page_count = ${sqlite.pragma('page_count', { simple: true }) as number}`);
    const filler = sqlite.prepare("insert into users (id, name, can_create_export_jobs, created_at) values (?, ?, 1, 0)");
    let filled = false;
    for (let i = 0; i < 100_000 && !filled; i++) {
      try {
        filler.run(`filler-${i}`, 'x'.repeat(2000));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('SQLITE_FULL');
        filled = true;
      }
    }
    expect(filled).toBe(true);
    // Creates until one needs a page the database cannot have (each row takes room in the table and its indexes).
    let response = await create();
    for (let i = 0; i < 1_000 && response.statusCode === 200; i++) response = await create();
    expectStorageFull(response, 'database');
    expect(await health()).toMatchObject({ status: 'degraded', problems: [{ store: 'database' }] });
    sqlite.pragma('max_page_count = 1073741823');
  });
});

describe('what counts as out of space, from each backend', () => {
  it('PostgreSQL’s disk_full (SQLSTATE 53100) and MinIO’s full store, also inside drizzle’s query error; other failures do not', () => {
    const diskFull = Object.assign(new pg.DatabaseError('could not extend file "base/16384/16385": No space left on device', 0, 'error'), { code: '53100' });
    expect(isOutOfSpace(diskFull)).toBe(true);
    expect(isOutOfSpace(new DrizzleQueryError('insert into "export_jobs" …', [], diskFull))).toBe(true);
    expect(isOutOfSpace(Object.assign(new Error('Storage backend has reached its minimum free drive threshold.'), { name: 'XMinioStorageFull' }))).toBe(true);
    expect(isOutOfSpace(Object.assign(new Error('write failed'), { code: 'ENOSPC' }))).toBe(true);
    const uniqueViolation = Object.assign(new pg.DatabaseError('duplicate key value', 0, 'error'), { code: '23505' });
    expect(isOutOfSpace(new DrizzleQueryError('insert …', [], uniqueViolation))).toBe(false);
    expect(isOutOfSpace(Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isOutOfSpace(undefined)).toBe(false);
  });
});
