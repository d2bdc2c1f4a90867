import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../db/index.js';
import { buildApp } from '../server/app.js';
import type { DepsOptions } from '../server/deps.js';
import { checkReadiness, type CheckName, type CheckResult } from '../server/operating/readiness.js';
import { createStorageHealth } from '../server/storage-health.js';
import { createSqliteTestEnv, type SqliteTestEnv } from './helpers.js';

let env: SqliteTestEnv | undefined;
let app: Awaited<ReturnType<typeof buildApp>> | undefined;
const temporary: string[] = [];

async function start(options: Omit<DepsOptions, 'stores'> = {}) {
  env = await createSqliteTestEnv(options);
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  return env;
}

async function ready() {
  const response = await app!.inject({ method: 'GET', url: '/ready' });
  return { status: response.statusCode, body: response.json() as { status: string; failing?: CheckName[]; checks: Record<CheckName, CheckResult & { reason?: string }> } };
}

afterEach(async () => {
  await app?.close();
  env?.cleanup();
  app = undefined;
  env = undefined;
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('GET /ready', () => {
  it('200 when the database answers, its migrations are current, and the file store takes writes with room to spare', async () => {
    await start();
    expect(await ready()).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, files: { ok: true }, freeSpace: { ok: true } } },
    });
  });

  it('503 naming the database when it does not answer', async () => {
    const { database } = await start();
    database.close();
    const { status, body } = await ready();
    expect(status).toBe(503);
    expect(body.status).toBe('not ready');
    expect(body.failing).toContain('database');
    expect(body.checks.database).toEqual({ ok: false, reason: expect.stringContaining('does not answer') });
    expect(body.checks.files).toEqual({ ok: true });
  });

  it('503 naming the migrations when the database has one this build does not know', async () => {
    const { database } = await start();
    database.sqlite.prepare('insert into __drizzle_migrations (hash, created_at) values (?, ?)').run('f'.repeat(64), 4_102_444_800_000);
    const { status, body } = await ready();
    expect(status).toBe(503);
    expect(body.failing).toEqual(['migrations']);
    expect(body.checks.migrations.reason).toMatch(/1 applied migration\(s\) this build's migrations folder does not have/);
  });

  it('503 naming the files when the file store does not take a write', async () => {
    const { files } = await start();
    rmSync(files.dir, { recursive: true });
    const { status, body } = await ready();
    expect(status).toBe(503);
    expect(body.failing).toEqual(['files']);
    expect(body.checks.files.reason).toMatch(/does not take a write: ENOENT/);
  });

  it('503 naming the free space when a disk is below NOTEPAD_MIN_FREE_BYTES', async () => {
    const storage = createStorageHealth({
      now: Date.now,
      dirs: { files: tmpdir() },
      minFreeBytes: 64 * 1024 * 1024,
      statfs: async () => ({ bavail: 1_000, bsize: 4_096 }),
    });
    await storage.start();
    try {
      await start({ storage });
      const { status, body } = await ready();
      expect(status).toBe(503);
      expect(body.failing).toEqual(['freeSpace']);
      expect(body.checks.freeSpace.reason).toBe('files: 4096000 bytes free, below the minimum of 67108864');
      // Still alive: /health is the liveness probe.
      expect((await app!.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      storage.stop();
    }
  });

  it('leaves no probe file behind', async () => {
    const { files } = await start();
    await ready();
    await ready();
    expect(await env!.files.list()).toEqual([]);
    expect(readdirSync(files.dir)).toEqual([]);
  });
});

describe('the migrations check', () => {
  it('fails while the migrations folder has one the database has not applied', async () => {
    await start();
    const folder = mkdtempSync(join(tmpdir(), 'notepad-migrations-'));
    temporary.push(folder);
    cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
    const journalPath = join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ idx: number; when: number; tag: string }> };
    journal.entries.push({ ...journal.entries[0]!, idx: 1, when: journal.entries[0]!.when + 1, tag: '0001_next' });
    writeFileSync(journalPath, JSON.stringify(journal));
    writeFileSync(join(folder, '0001_next.sql'), 'create table next_thing (id integer);');

    const result = await checkReadiness({ deps: env!.deps, files: env!.files, migrationsFolder: folder });
    expect(result.ready).toBe(false);
    expect(result.checks.migrations).toEqual({ ok: false, reason: 'not applied (or changed since they were applied): 0001_next' });
    // The folder of this build: current.
    expect((await checkReadiness({ deps: env!.deps, files: env!.files })).checks.migrations).toEqual({ ok: true });
  });
});
