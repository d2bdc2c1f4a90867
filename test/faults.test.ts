import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { FileStore } from '../server/files/store.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
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
    dir: store.dir,
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
  user = seedUser(env.deps);
  documentRid = seedDocument(env.deps, user.userId);
});
afterAll(async () => {
  await app.close();
  await runner.stop(0);
  env.cleanup();
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
  it('a full file store fails the job INTERNAL; the server keeps serving; the next job after the fault succeeds', async () => {
    diskFull = true;
    const failing = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    const failed = await statusOf(failing);
    expect(failed).toMatchObject({ type: 'failed', errorCode: 'INTERNAL', errorInstanceId: expect.any(String) });
    const line = env.logLines().find((l) => l.errorInstanceId === failed.errorInstanceId);
    expect(JSON.stringify(line)).toContain('ENOSPC'); // the cause is in the log, under the job's errorInstanceId
    expect((await create()).statusCode).toBe(200); // still serving while the disk is full
    diskFull = false;
    await runner.drain(); // the job created during the fault: it is rendered only now, and succeeds
    const next = (await create()).json<{ rid: string }>().rid;
    await runner.drain();
    expect(await statusOf(next)).toMatchObject({ type: 'succeeded' });
  });

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
    await recordReliability('faults', [
      `Last run: ${new Date().toISOString()}`,
      '',
      '| fault | injected | outcome |',
      '|---|---|---|',
      `| file store write fails (ENOSPC) | ${faultsInjected} | job failed INTERNAL, server kept serving, next job succeeded |`,
      '| database locked past the busy timeout | 1 | 500 Default:Internal with errorInstanceId in under 5 s, then recovered |',
    ]);
  });
});
