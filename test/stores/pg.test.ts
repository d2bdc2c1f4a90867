/**
 * The store contract suites on PostgreSQL: one fresh database per test file on the test
 * server (test/backends.ts), migrated by openPgBackend as the service opens it, emptied
 * before each test (the suites expect an empty database per test; a TRUNCATE is much
 * cheaper than a CREATE DATABASE), dropped after the file. Plus the JobStore suite on the
 * backend's job store (the S3 FileStore suite is in test/file-stores.test.ts), and what only
 * concurrency can show: many creates of one user at once never pass its quota together.
 */
import { eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../../db/pg/index.js';
import * as pgSchema from '../../db/pg/schema.js';
import { NotepadError } from '../../server/contract/errors.js';
import { createDeps } from '../../server/deps.js';
import * as admin from '../../server/services/admin.js';
import { createExportJob } from '../../server/services/export-jobs.js';
import type { Backend } from '../../server/stores/index.js';
import { openPgBackend } from '../../server/stores/pg/index.js';
import { freshPostgresDatabase } from '../backends.js';
import { authStoreContract } from './auth.contract.js';
import type { BackendFactory } from './backend.js';
import { directoryStoreContract } from './directory.contract.js';
import { exportJobStoreContract } from './exports.contract.js';
import { generationStoreContract } from './generations.contract.js';
import { jobStoreContract, type Rows } from './job-store.contract.js';
import { operatingStoreContract } from './operating.contract.js';

let fresh: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
let backend: Backend | undefined;
/** A second pool on the same database, for what the suites seed or inspect below the stores. */
let direct: PostgresDatabase | undefined;

async function opened(): Promise<{ backend: Backend; direct: PostgresDatabase }> {
  fresh ??= await freshPostgresDatabase();
  backend ??= await openPgBackend(fresh.url, { pool: 8 });
  direct ??= await openPostgres(fresh.url, { poolSize: 2 });
  return { backend, direct };
}

/** Every table of the schema emptied (migrations' own bookkeeping lives in schema "drizzle" and stays). */
async function emptied(): Promise<{ backend: Backend; direct: PostgresDatabase }> {
  const both = await opened();
  const { rows } = await both.direct.db.execute<{ tablename: string }>(sql`select tablename from pg_tables where schemaname = 'public'`);
  await both.direct.db.execute(sql.raw(`truncate table ${rows.map((row) => `"${row.tablename}"`).join(', ')}`));
  return both;
}

afterAll(async () => {
  await backend?.close();
  await direct?.close();
  await fresh?.drop();
});

const pg: BackendFactory = async () => ({ stores: (await emptied()).backend.stores, close: async () => {} });

exportJobStoreContract('PostgreSQL', pg);
generationStoreContract('PostgreSQL', pg);
directoryStoreContract('PostgreSQL', pg);
authStoreContract('PostgreSQL', pg);
operatingStoreContract('PostgreSQL', pg);

jobStoreContract('PostgreSQL (the backend’s job store)', async () => {
  const { backend: opened, direct: database } = await emptied();
  return {
    store: opened.stores.jobs,
    async insert(table, rows) {
      await database.db.insert(pgSchema[table] as typeof pgSchema.users).values(rows as Array<Rows['users']>);
    },
    async exportJob(rid) {
      return (await database.db.select().from(pgSchema.exportJobs).where(eq(pgSchema.exportJobs.rid, rid)))[0];
    },
    cleanup: async () => {},
  };
});

describe('PostgreSQL stores under concurrent creates', () => {
  beforeAll(async () => {
    await emptied();
  });

  it('a sweep under the sweeper lock runs with a pool of one connection, and a second process skips its turn meanwhile', async () => {
    const { url } = fresh!;
    const single = await openPgBackend(url, { pool: 1 });
    const other = await openPgBackend(url, { pool: 1 });
    try {
      const turn = await single.coordination!.exclusiveSweep(async () => {
        // The other process finds the lock held: it skips, never waits.
        expect(await other.coordination!.exclusiveSweep(async () => 'swept twice')).toEqual({ swept: false });
        return single.stores.jobs.expiredFiles(Date.now());
      });
      expect(turn).toEqual({ swept: true, result: [] });
    } finally {
      await single.close();
      await other.close();
    }
  });

  it('creates of one user at once never pass its active-export quota together', async () => {
    const LIMIT = 3;
    const ATTEMPTS = 24;
    const { backend: racing } = await opened();
    const deps = createDeps({ stores: racing.stores, config: { quotas: { maxActiveExportJobsPerUser: LIMIT } }, logger: pino({ level: 'silent' }) });
    const { userId } = await admin.createUser(deps, { name: 'Racer' });
    const { documentRid } = await admin.createDocument(deps, { title: 'Race', content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'x' }] }] }, ownerId: userId });
    const principal = { userId, name: 'Racer', canCreateExportJobs: true, scopes: new Set(['api:notepad-export']) };
    const request = { exportJobSource: { type: 'documentSource' as const, documentRid }, exportJobTarget: { type: 'pdf' as const, userLocale: 'en-US', userTimezone: 'Etc/UTC' } };
    // A new user has no usage row yet: the first creates also race to make the row they lock.
    expect(await direct!.db.select().from(pgSchema.userUsage).where(eq(pgSchema.userUsage.userId, userId))).toEqual([]);
    // All at once, on up to 8 pooled connections: without the usage row lock several would
    // read the same count below the limit and all insert.
    const outcomes = await Promise.allSettled(Array.from({ length: ATTEMPTS }, () => createExportJob(deps, principal, request as Parameters<typeof createExportJob>[2])));
    const created = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(created).toHaveLength(LIMIT);
    expect(refused).toHaveLength(ATTEMPTS - LIMIT);
    expect(refused.every((error) => error instanceof NotepadError && error.errorName === 'TooManyActiveExportJobs')).toBe(true);
    const depth = await racing.stores.operating.queueDepth(Date.now());
    expect(depth.export).toEqual({ waiting: LIMIT, running: 0 });
  });

  it('identical creates racing with one Idempotency-Key make one job, and all of them answer it', async () => {
    const { backend: racing } = await opened();
    const deps = createDeps({ stores: racing.stores, logger: pino({ level: 'silent' }) });
    const { userId } = await admin.createUser(deps, { name: 'Keyed racer' });
    const { documentRid } = await admin.createDocument(deps, { title: 'Keyed race', content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'x' }] }] }, ownerId: userId });
    const principal = { userId, name: 'Keyed racer', canCreateExportJobs: true, scopes: new Set(['api:notepad-export']) };
    const request = {
      exportJobSource: { type: 'documentSource' as const, documentRid },
      exportJobTarget: { type: 'pdf' as const, userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      idempotencyKey: 'one-key',
    };
    const answers = await Promise.all(Array.from({ length: 16 }, () => createExportJob(deps, principal, request as Parameters<typeof createExportJob>[2])));
    expect(new Set(answers.map((job) => job.rid)).size).toBe(1);
    const jobs = await direct!.db.select({ rid: pgSchema.exportJobs.rid }).from(pgSchema.exportJobs).where(eq(pgSchema.exportJobs.creatorId, userId));
    expect(jobs).toEqual([{ rid: answers[0]!.rid }]);
  });
});
