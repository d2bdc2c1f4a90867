/**
 * The PostgreSQL schema's migrations (migrations-pg/): generated from db/pg/schema.ts and
 * db/pg/coordination.ts with nothing left to generate, applied once however many processes
 * start at once, the same tables and indexes as SQLite's (and the coordination tables only
 * PostgreSQL has), and the user_usage triggers keeping the same figures.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { eq, getTableName, is } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { migratePostgres, openPostgres, PG_MIGRATIONS_FOLDER } from '../db/pg/index.js';
import * as pgSchema from '../db/pg/schema.js';
import * as pgCoordination from '../db/pg/coordination.js';
import pgConfig from '../drizzle.pg.config.js';
import type { Content } from '../server/contract/content.js';
import { freshPostgresDatabase } from './backends.js';

const EMPTY = [] as unknown as Content;

const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const drop of drops) await drop();
});

async function fresh() {
  const database = await freshPostgresDatabase();
  drops.push(database.drop);
  return database;
}

/** The tables only PostgreSQL has (db/pg/coordination.ts): how its nodes coordinate. */
const COORDINATION_TABLES: string[] = Object.values(pgCoordination)
  .filter((value) => is(value, PgTable))
  .map((table) => getTableName(table));

const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };

describe('PostgreSQL migrations', () => {
  it('match the pg-core schema: drizzle-kit generate has nothing to add', () => {
    const dir = mkdtempSync(join(tmpdir(), 'notepad-pg-drift-'));
    try {
      const out = join(dir, 'migrations-pg');
      cpSync(PG_MIGRATIONS_FOLDER, out, { recursive: true });
      const config = join(dir, 'drizzle.pg.config.mjs');
      writeFileSync(config, `export default ${JSON.stringify({ dialect: 'postgresql', schema: pgConfig.schema, out: relative(process.cwd(), out) })};\n`);
      const before = readdirSync(out).sort();
      const run = spawnSync(resolve('node_modules/.bin/drizzle-kit'), ['generate', '--config', config], { encoding: 'utf8' });
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status, output).toBe(0);
      expect(readdirSync(out).sort(), output).toEqual(before);
      expect(output).toMatch(/No schema changes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('N concurrent migrators on a fresh database all succeed and apply each migration once', async () => {
    const { url } = await fresh();
    const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: url, max: 2 }));
    try {
      const results = await Promise.allSettled(pools.map((pool) => migratePostgres(pool)));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const applied = await pools[0]!.query<{ n: string }>('select count(*) as n from drizzle.__drizzle_migrations');
      expect(Number(applied.rows[0]!.n)).toBe(journal.entries.length);
      // Each trigger exists once (a second application of 0001 would have failed, not doubled).
      const triggers = await pools[0]!.query<{ tgname: string }>("select tgname from pg_trigger where not tgisinternal order by tgname");
      expect(triggers.rows.map((r) => r.tgname)).toEqual(['export_jobs_changed', 'export_jobs_inserted_usage', 'export_jobs_usage', 'files_usage', 'generation_jobs_usage']);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('create the same tables and indexes as the SQLite migrations', async () => {
    const { url } = await fresh();
    const database = await openPostgres(url, { poolSize: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'notepad-pg-mirror-'));
    const sqlite = openDatabase(join(dir, 'mirror.db'));
    try {
      const sqliteNames = (type: string) =>
        (sqlite.sqlite.prepare(`select name from sqlite_master where type = ? and name not like 'sqlite_%' and name not like '__drizzle%'`).all(type) as Array<{ name: string }>)
          .map((r) => r.name)
          .sort();
      expect(COORDINATION_TABLES).toEqual(['export_job_watches']);
      const tables = await database.pool.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by tablename");
      expect(tables.rows.map((r) => r.tablename)).toEqual([...sqliteNames('table'), ...COORDINATION_TABLES].sort());
      // Primary keys are implicit indexes in SQLite (sqlite_autoindex_*, left out above): leave them out here too.
      const indexes = await database.pool.query<{ indexname: string; tablename: string }>(
        "select c.relname as indexname, t.relname as tablename from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and not i.indisprimary",
      );
      expect(
        indexes.rows
          .filter((r) => !COORDINATION_TABLES.includes(r.tablename))
          .map((r) => r.indexname)
          .sort(),
      ).toEqual(sqliteNames('index'));
    } finally {
      sqlite.close();
      rmSync(dir, { recursive: true, force: true });
      await database.close();
    }
  });

  it('keep user_usage exact through job and file writes, as the SQLite triggers do', async () => {
    const { url } = await fresh();
    const { db, close } = await openPostgres(url, { poolSize: 2 });
    try {
      const { users, templates, templateVersions, generationJobs, exportJobs, files, userUsage } = pgSchema;
      await db.insert(users).values([
        { id: 'u1', name: 'Ada', createdAt: 1 },
        { id: 'u2', name: 'Grace', createdAt: 1 },
      ]);
      await db.insert(templates).values({ rid: 't1', title: 'T', ownerId: 'u1', createdAt: 1 });
      await db.insert(templateVersions).values({ templateRid: 't1', version: 1, content: EMPTY, parameters: [], publishedAt: 1 });
      const usage = async () => (await db.select().from(userUsage).where(eq(userUsage.userId, 'u1')))[0];
      const job = { creatorId: 'u1', sourceType: 'documentSource' as const, userLocale: 'en', userTimezone: 'UTC', status: 'running' as const, createdAt: 1, expiresAt: 10 };
      // One statement of jobs of two users (each counted once per statement: 0003), neither with a usage row yet.
      await db.insert(exportJobs).values([{ rid: 'e1', ...job }, { rid: 'e2', ...job }, { rid: 'e3', ...job, status: 'failed' }, { rid: 'e4', ...job, creatorId: 'u2' }]);
      expect(await usage()).toMatchObject({ activeExportJobs: 2, storedBytes: 0 });
      await db.insert(exportJobs).values([{ rid: 'e5', ...job, creatorId: 'u2' }]);
      expect((await db.select().from(userUsage).where(eq(userUsage.userId, 'u2')))[0]).toMatchObject({ activeExportJobs: 2 });
      await db.update(exportJobs).set({ status: 'succeeded' }).where(eq(exportJobs.rid, 'e1'));
      await db.insert(files).values({ rid: 'f1', exportJobRid: 'e1', ownerId: 'u1', mediaType: 'application/pdf', filename: 'a.pdf', sizeBytes: 1234, sha256: 'x', storageKey: 'k', createdAt: 1, expiresAt: 10 });
      expect(await usage()).toMatchObject({ activeExportJobs: 1, storedBytes: 1234 });

      const content = [{ type: 'paragraph', children: [{ type: 'text', text: 'Grüße, 世界' }] }] as unknown as Content;
      await db.insert(generationJobs).values({ rid: 'g1', templateRid: 't1', templateVersion: 1, creatorId: 'u1', parameters: {}, status: 'running', createdAt: 1, expiresAt: 10 });
      expect(await usage()).toMatchObject({ activeGenerationJobs: 1 });
      await db.update(generationJobs).set({ status: 'succeeded', content }).where(eq(generationJobs.rid, 'g1'));
      // The content's bytes as SQLite counts them: the UTF-8 length of its JSON text.
      const contentBytes = Buffer.byteLength(JSON.stringify(content));
      expect(await usage()).toMatchObject({ activeGenerationJobs: 0, storedBytes: 1234 + contentBytes });

      await db.delete(files).where(eq(files.rid, 'f1'));
      await db.delete(generationJobs).where(eq(generationJobs.rid, 'g1'));
      await db.delete(exportJobs).where(eq(exportJobs.rid, 'e2'));
      expect(await usage()).toEqual({ userId: 'u1', activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 });
    } finally {
      await close();
    }
  });
});
