/**
 * The job stores: the shared contract (test/stores/job-store.contract.ts) on SQLite (its
 * PostgreSQL run is in test/stores/pg.test.ts, on the backend's own job store), and what only
 * PostgreSQL has: many claimers at once on separate connections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { openPostgres, type PostgresDatabase } from '../db/pg/index.js';
import * as pgSchema from '../db/pg/schema.js';
import * as sqliteSchema from '../db/schema.js';
import { createPgJobStore } from '../server/jobs/pg-store.js';
import { createSqliteJobStore } from '../server/jobs/sqlite-store.js';
import { freshPostgresDatabase } from './backends.js';
import { jobStoreContract, type Rows } from './stores/job-store.contract.js';

jobStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-job-store-'));
  const database = openDatabase(join(dir, 'notepad.db'));
  const { db } = database;
  return {
    store: createSqliteJobStore(db),
    async insert(table, rows) {
      // One schema's table per name; their insert types are the same (Rows).
      db.insert(sqliteSchema[table] as typeof sqliteSchema.users)
        .values(rows as Array<Rows['users']>)
        .run();
    },
    async exportJob(rid) {
      return db.select().from(sqliteSchema.exportJobs).where(eq(sqliteSchema.exportJobs.rid, rid)).get();
    },
    async cleanup() {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('PostgreSQL job store under concurrent claimers', () => {
  let database: PostgresDatabase;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const fresh = await freshPostgresDatabase();
    drop = fresh.drop;
    database = await openPostgres(fresh.url, { poolSize: 16 });
  });
  afterAll(async () => {
    await database.close();
    await drop();
  });

  it('never claims one job twice, and claims every job', async () => {
    const { db } = database;
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    await db.insert(pgSchema.users).values(users.map((id) => ({ id, name: id, createdAt: 0 })));
    const jobs = Array.from({ length: 300 }, (_, i) => ({
      rid: `job-${String(i).padStart(4, '0')}`,
      creatorId: users[i % users.length]!,
      sourceType: 'documentSource' as const,
      userLocale: 'en-US',
      userTimezone: 'UTC',
      status: 'running' as const,
      createdAt: i,
      expiresAt: 1_000_000,
    }));
    await db.insert(pgSchema.exportJobs).values(jobs);

    const store = createPgJobStore(db);
    const claimed: string[] = [];
    // 16 claimers on 16 connections, each claiming until nothing is left; leases never lapse.
    await Promise.all(
      Array.from({ length: 16 }, async (_, claimer) => {
        for (let misses = 0; misses < 3; ) {
          const job = await store.claimNext('export', { owner: `r${claimer}`, now: 1_000, leaseMs: 1_000_000 });
          if (job) claimed.push(job.rid);
          else misses++;
        }
      }),
    );
    expect(claimed.length).toBe(jobs.length);
    expect(new Set(claimed).size).toBe(jobs.length);
    const rows = await db.select({ attempts: pgSchema.exportJobs.attempts }).from(pgSchema.exportJobs);
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
  });
});
