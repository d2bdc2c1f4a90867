/**
 * A store connection lost in the middle of a job (a PostgreSQL restart or failover, a
 * terminated session): the job is not failed, since nothing was wrong with it (its lease
 * lapses and it runs again), and bytes whose commit may have gone through are never
 * deleted. On SQLite, with the connection loss injected at the commit: the one write whose
 * outcome a lost answer leaves unknown. test/multi-node.test.ts restarts a real PostgreSQL
 * under load. On SQLite only: the fault is injected, not a backend's own (createSqliteTestEnv).
 */
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { exportJobs } from '../db/schema.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { authenticate, type Principal } from '../server/services/auth.js';
import { createExportJob, getExportJob } from '../server/services/export-jobs.js';
import { getFile } from '../server/services/files.js';
import { isConnectionLost } from '../server/storage-health.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';

let env: SqliteTestEnv;
let principal: Principal;
let documentRid: string;
let runner: JobRunner | undefined;

/** What node-postgres rejects with when the server terminates the session, as Drizzle wraps it. */
const adminShutdown = () =>
  new Error('Failed query: commit', { cause: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) });

beforeEach(async () => {
  env = await createSqliteTestEnv({ config: { jobs: { leaseMs: 1_000, deadlineMs: 20_000, concurrency: 1 } } });
  const user = await seedUser(env.deps);
  principal = await authenticate(env.deps, `Bearer ${user.token}`);
  documentRid = await seedDocument(env.deps, user.userId);
});

afterEach(async () => {
  await runner?.stop(0);
  runner = undefined;
  vi.restoreAllMocks();
  await env.cleanup();
});

async function createAndDrain(): Promise<string> {
  const { rid } = await createExportJob(env.deps, principal, {
    exportJobSource: { type: 'documentSource', documentRid },
    exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
  });
  runner = createJobRunner({ deps: env.deps, files: env.files, render: (request) => renderPdf(request) });
  await runner.drain();
  return rid;
}

const attemptsOf = (rid: string) => env.db.select({ attempts: exportJobs.attempts }).from(exportJobs).where(eq(exportJobs.rid, rid)).get()?.attempts;
const storedPdfs = () => readdirSync(env.files.dir).filter((name) => name.endsWith('.pdf'));

describe('a store connection lost during an export', () => {
  it('before its commit: the job is not failed; once its lease lapses the next attempt succeeds', async () => {
    vi.spyOn(env.deps.stores.jobs, 'commitExportSuccess').mockRejectedValueOnce(adminShutdown());
    const rid = await createAndDrain();
    expect((await getExportJob(env.deps, principal, rid)).status.type).toBe('running');
    env.clock.advance(1_001);
    await runner!.drain();

    const status = (await getExportJob(env.deps, principal, rid)).status;
    expect(status.type).toBe('succeeded');
    expect(attemptsOf(rid)).toBe(2);
    const lines = env.logLines();
    expect(lines.some((line) => line.msg === 'export job interrupted: a store connection was lost; it will be claimed again' && line.exportJobRid === rid)).toBe(true);
    expect(lines.filter((line) => line.msg === 'export job failed')).toEqual([]);
    // The first attempt's bytes went with the second attempt's success: one file, one PDF.
    expect(storedPdfs()).toHaveLength(1);
  });

  it('with the commit done and only its answer lost: the bytes stay, so the file its row names can be read', async () => {
    const jobs = env.deps.stores.jobs;
    const commit = jobs.commitExportSuccess.bind(jobs);
    vi.spyOn(jobs, 'commitExportSuccess').mockImplementationOnce(async (...args) => {
      await commit(...args);
      throw Object.assign(new Error('Connection terminated unexpectedly'));
    });
    const rid = await createAndDrain();

    const status = (await getExportJob(env.deps, principal, rid)).status;
    expect(status.type).toBe('succeeded');
    if (status.type !== 'succeeded') return;
    const file = await getFile(env.deps, principal, status.fileRid);
    const chunks: Buffer[] = [];
    for await (const chunk of await env.files.open(file.storageKey)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(file.sizeBytes);
    expect(attemptsOf(rid)).toBe(1);
  });
});

describe('isConnectionLost', () => {
  it('knows the connection errors of PostgreSQL, node-postgres and sockets, through wrappers', () => {
    expect(isConnectionLost(adminShutdown())).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(isConnectionLost(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLost(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isConnectionLost(new Error('timeout expired'))).toBe(true);
    expect(isConnectionLost(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectionLost(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })]))).toBe(true);
  });

  it('leaves every other error alone: those are the job\'s or a bug', () => {
    expect(isConnectionLost(new Error('boom'))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBe(false);
    expect(isConnectionLost(undefined)).toBe(false);
    expect(isConnectionLost('Connection terminated')).toBe(false);
  });
});
