import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { FileStore } from '../server/files/store.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createTestEnv, seedDocument, seedUser, TEST_BACKEND, type TestEnv } from './helpers.js';
import { recordReliability } from './reliability-record.js';

let env: TestEnv;
let app: FastifyInstance;
let runner: JobRunner;
let user: { userId: string; token: string };
let documentRid: string;
let diskFull = false;
let faultsInjected = 0;

/** The real store, with writes that fail like a full disk while `diskFull` is set. */
function faultyStore(store: FileStore): FileStore {
  return {
    ...store,
    async write(key, bytes) {
      if (diskFull) {
        faultsInjected++;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      return store.write(key, bytes);
    },
  };
}

beforeAll(async () => {
  env = await createTestEnv({ busyTimeoutMs: 150 });
  const files = faultyStore(env.files);
  app = await buildApp({ deps: env.deps, files, logger: env.logger });
  runner = createJobRunner({ deps: env.deps, files, render: (request) => renderPdf(request) });
  user = await seedUser(env.deps);
  documentRid = await seedDocument(env.deps, user.userId);
});
/**
 * Each test's row of the faults table, set by that test as its last step, after every one of
 * its assertions passed: a test that failed leaves no row, and the table says so instead of
 * reporting an outcome nobody checked.
 */
const ALL_FAULTS = ['file store write fails (ENOSPC)', 'database locked past the busy timeout', 'tables locked past the lock timeout (PostgreSQL)'] as const;
/** The locked database is each backend's own fault: the SQLite file's write lock, PostgreSQL's table locks. */
const FAULTS = ALL_FAULTS.filter((fault) =>
  TEST_BACKEND === 'sqlite' ? fault !== 'tables locked past the lock timeout (PostgreSQL)' : fault !== 'database locked past the busy timeout',
);
const rows = new Map<(typeof ALL_FAULTS)[number], { injected: number; outcome: string }>();

afterAll(async () => {
  await app.close();
  await runner.stop(0);
  await env.cleanup();
  await recordReliability('faults', [
    `Last run: ${new Date().toISOString()}`,
    '',
    'Each row is written only by the test that injected the fault, after all of its assertions passed; every figure and',
    'outcome in a row is asserted by that test.',
    '',
    '| fault | injected | outcome |',
    '|---|---|---|',
    ...FAULTS.map((fault) => {
      const row = rows.get(fault);
      return row ? `| ${fault} | ${row.injected} | ${row.outcome} |` : `| ${fault} | — | **its test failed or did not run: nothing recorded** |`;
    }),
  ]);
});

const create = () =>
  app.inject({
    method: 'POST',
    url: '/api/v2/notepad/exportJobs/create?preview=true',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    payload: { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } },
  });
const statusOf = async (rid: string) =>
  (
    await app.inject({ method: 'GET', url: `/api/v2/notepad/exportJobs/${rid}?preview=true`, headers: { authorization: `Bearer ${user.token}` } })
  ).json<{ status: Record<string, unknown> }>().status;

describe('storage faults', () => {
  it('a full file store fails the job INTERNAL; the server keeps serving and refuses new work meanwhile; jobs after the fault succeed', async () => {
    diskFull = true;
    const failing = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    const failed = await statusOf(failing);
    expect(failed).toMatchObject({ type: 'failed', errorCode: 'INTERNAL', errorInstanceId: expect.any(String) });
    const line = env.logLines().find((l) => l.errorInstanceId === failed.errorInstanceId);
    expect(JSON.stringify(line)).toContain('ENOSPC'); // the cause is in the log, under the job's errorInstanceId
    expect(faultsInjected).toBe(1); // the failed job's one write; nothing retried it
    // Still serving while the disk is full, but new work that could not be stored is refused up front.
    const duringFault = await create();
    expect(duringFault.statusCode).toBe(503);
    expect(duringFault.headers['retry-after']).toBeDefined();
    expect(duringFault.json()).toMatchObject({ errorName: 'StorageFull', parameters: { store: 'files' } });
    expect(await statusOf(failing)).toMatchObject({ type: 'failed' });
    diskFull = false;
    env.clock.advance(10_001); // the full-store report ages out: work is accepted again
    const createdAfterFault = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    const recovered = await statusOf(createdAfterFault);
    expect(recovered).toMatchObject({ type: 'succeeded', fileRid: expect.any(String) });
    const download = await app.inject({
      method: 'GET',
      url: `/api/v2/notepad/files/${recovered.fileRid as string}/content?preview=true`,
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const next = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    expect(await statusOf(next)).toMatchObject({ type: 'succeeded' });
    expect(faultsInjected).toBe(1);
    rows.set('file store write fails (ENOSPC)', {
      injected: faultsInjected,
      outcome:
        'job failed INTERNAL with the ENOSPC cause logged under its errorInstanceId; server kept serving and refused new work with 503 StorageFull while the store was full; the job created after the fault cleared succeeded and its PDF downloads; the next job succeeded',
    });
  });
});

// Another connection holding the SQLite file's write lock, and the busy timeout, are SQLite's.
if (TEST_BACKEND === 'sqlite') describe('storage faults (SQLite)', () => {
  it('a database locked past the busy timeout is a contract-shaped 500 INTERNAL, not a hang', async () => {
    const locker = new Database(join(env.dir, 'notepad.db'));
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const started = Date.now();
      const response = await create();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(response.statusCode).toBe(500);
      const body = response.json<Record<string, unknown>>();
      expect(body).toMatchObject({ errorCode: 'INTERNAL', errorName: 'Default:Internal', parameters: {} });
      expect(body.errorInstanceId).toMatch(/^[0-9a-f-]{36}$/);
      const logged = env.logLines().find((l) => l.errorInstanceId === body.errorInstanceId);
      expect(JSON.stringify(logged)).toMatch(/SQLITE_BUSY|database is locked/);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect((await create()).statusCode).toBe(200); // and it recovers once the lock is gone
    rows.set('database locked past the busy timeout', {
      injected: 1,
      outcome: '500 Default:Internal with errorInstanceId in under 5 s, SQLITE_BUSY logged under it; the next create answered 200',
    });
  });
});

// PostgreSQL's counterpart: another session holds the tables a create writes, past the lock timeout.
if (TEST_BACKEND === 'postgres') describe('storage faults (PostgreSQL)', () => {
  it('tables locked past the lock timeout are a contract-shaped 500 INTERNAL, not a hang', async () => {
    const locker = new pg.Client({ connectionString: env.postgresUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table export_jobs, user_usage in access exclusive mode');
      const started = Date.now();
      const response = await create();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(response.statusCode).toBe(500);
      const body = response.json<Record<string, unknown>>();
      expect(body).toMatchObject({ errorCode: 'INTERNAL', errorName: 'Default:Internal', parameters: {} });
      expect(body.errorInstanceId).toMatch(/^[0-9a-f-]{36}$/);
      const logged = env.logLines().find((l) => l.errorInstanceId === body.errorInstanceId);
      expect(JSON.stringify(logged)).toMatch(/lock timeout/);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    expect((await create()).statusCode).toBe(200); // and it recovers once the lock is gone
    rows.set('tables locked past the lock timeout (PostgreSQL)', {
      injected: 1,
      outcome: '500 Default:Internal with errorInstanceId in under 5 s, the lock timeout logged under it; the next create answered 200',
    });
  });
});
