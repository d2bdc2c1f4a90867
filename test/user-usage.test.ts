import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { MIGRATIONS_FOLDER, openDatabase, schema, type Db } from '../db/index.js';
import { exportJobs, files, generationJobs, templates, templateVersions, users, userUsage } from '../db/schema.js';
import { newRid } from '../server/contract/rids.js';
import { defaultConfig } from '../server/config.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { authenticate, type Principal } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { createSqliteTestEnv, seedDocument, seedGenerationJob, seedTemplate, seedUser, type SqliteTestEnv } from './helpers.js';
import { sqliteRows } from './rows.js';

/** What user_usage must say, counted from the rows themselves. */
function recount(db: Db): Record<string, { activeExportJobs: number; activeGenerationJobs: number; storedBytes: number }> {
  const out: Record<string, { activeExportJobs: number; activeGenerationJobs: number; storedBytes: number }> = {};
  const of = (userId: string) => (out[userId] ??= { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 });
  for (const job of db.select({ creatorId: exportJobs.creatorId, status: exportJobs.status }).from(exportJobs).all()) {
    if (job.status === 'running') of(job.creatorId).activeExportJobs++;
  }
  const generated = db
    .select({ creatorId: generationJobs.creatorId, status: generationJobs.status, bytes: sql<number | null>`octet_length(${generationJobs.content})` })
    .from(generationJobs)
    .all();
  for (const job of generated) {
    if (job.status === 'running') of(job.creatorId).activeGenerationJobs++;
    of(job.creatorId).storedBytes += job.bytes ?? 0;
  }
  for (const file of db.select({ ownerId: files.ownerId, sizeBytes: files.sizeBytes }).from(files).all()) of(file.ownerId).storedBytes += file.sizeBytes;
  return out;
}

/** user_usage as stored, leaving out rows that are all zero (a user who held something once). */
function stored(db: Db) {
  const out: ReturnType<typeof recount> = {};
  for (const { userId, ...usage } of db.select().from(userUsage).all()) {
    if (usage.activeExportJobs || usage.activeGenerationJobs || usage.storedBytes) out[userId] = usage;
  }
  return out;
}

const nonZero = (usage: ReturnType<typeof recount>) =>
  Object.fromEntries(Object.entries(usage).filter(([, u]) => u.activeExportJobs || u.activeGenerationJobs || u.storedBytes));

describe('user_usage, kept by triggers', () => {
  let env: SqliteTestEnv;
  let ada: Principal;
  let bea: Principal;
  let adaDoc: string;
  let beaDoc: string;
  const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'Europe/Paris' } as const;

  beforeEach(async () => {
    env = await createSqliteTestEnv();
    const a = await seedUser(env.deps, { name: 'Ada' });
    const b = await seedUser(env.deps, { name: 'Bea' });
    ada = await authenticate(env.deps, `Bearer ${a.token}`);
    bea = await authenticate(env.deps, `Bearer ${b.token}`);
    adaDoc = await seedDocument(env.deps, a.userId);
    beaDoc = await seedDocument(env.deps, b.userId);
  });
  afterEach(() => env.cleanup());

  const create = (principal: Principal, documentRid: string) =>
    createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });

  it('follows creates, claims, successes with files, failures, generated content and sweeping', async () => {
    const check = () => expect(stored(env.db)).toEqual(nonZero(recount(env.db)));
    await Promise.all([create(ada, adaDoc), create(ada, adaDoc), create(ada, adaDoc), create(bea, beaDoc)]);
    const templateRid = await seedTemplate(env.deps, ada.userId);
    seedGenerationJob(env, { creatorId: ada.userId, templateRid, status: 'running' });
    seedGenerationJob(env, { creatorId: bea.userId, templateRid, status: 'succeeded' });
    check();
    expect(stored(env.db)[ada.userId]).toMatchObject({ activeExportJobs: 3, activeGenerationJobs: 1, storedBytes: 0 });

    // One export fails, the rest succeed with files; the generation job gets its content.
    let renders = 0;
    const runner = createJobRunner({
      deps: env.deps,
      files: env.files,
      render: async (request) => {
        if (renders++ === 0) throw new Error('renderer exploded');
        return renderPdf(request);
      },
    });
    await runner.drain();
    check();
    const afterRun = stored(env.db);
    expect(afterRun[ada.userId]).toMatchObject({ activeExportJobs: 0, activeGenerationJobs: 0 });
    expect(afterRun[ada.userId]!.storedBytes).toBeGreaterThan(1000); // PDFs and generated content
    expect(afterRun[bea.userId]!.activeExportJobs).toBe(0);

    // Generated content expires after an hour, jobs and files after 7 days.
    env.clock.advance(env.deps.config.generationJobTtlMs);
    await runner.sweep();
    check();
    env.clock.advance(env.deps.config.exportJobTtlMs);
    await runner.sweep();
    check();
    expect(stored(env.db)).toEqual({});
    await runner.stop(0);
  });

  it('follows writes made through another connection to the same database', async () => {
    const second = openDatabase(join(env.dir, 'notepad.db'));
    try {
      const elsewhere = createDeps({ stores: createSqliteStores(second.db), now: () => env.clock.now });
      await Promise.all([create(ada, adaDoc), createExportJob(elsewhere, ada, { exportJobSource: { type: 'documentSource', documentRid: adaDoc }, exportJobTarget: target })]);
      expect(stored(env.db)[ada.userId]?.activeExportJobs).toBe(2);
      second.db.update(exportJobs).set({ status: 'failed' }).where(eq(exportJobs.creatorId, ada.userId)).run();
      expect(stored(env.db)[ada.userId]).toBeUndefined();
    } finally {
      second.close();
    }
  });
});

describe('the user_usage migration', () => {
  it('counts what a database created before it already holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notepad-usage-'));
    try {
      // The migrations up to the one that adds the triggers, then rows, then the rest.
      const before = join(dir, 'before');
      cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
      const journalPath = join(before, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
      const last = journal.entries.findIndex((entry) => entry.tag.endsWith('_user_usage_triggers'));
      expect(last).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, last);
      writeFileSync(journalPath, JSON.stringify(journal));

      const sqlite = new Database(join(dir, 'old.db'));
      const db = drizzle(sqlite, { schema }) as Db;
      migrate(db, { migrationsFolder: before });
      // Rows written directly: the stores prepare statements that name tables of later
      // migrations, which this database does not have yet. Only the ids, clock and config.
      const deps = { uuid: randomUUID, now: Date.now, config: defaultConfig() } as Pick<Deps, 'uuid' | 'now' | 'config'> as Deps;
      const now = Date.now();
      const userId = randomUUID();
      db.insert(users).values({ id: userId, name: 'Ada', createdAt: now }).run();
      const templateRid = newRid('notepad-template');
      db.insert(templates).values({ rid: templateRid, title: 'Template', ownerId: userId, createdAt: now }).run();
      db.insert(templateVersions).values({ templateRid, version: 1, content: { blocks: [] }, parameters: [], publishedAt: now }).run();
      await seedGenerationJob({ rows: sqliteRows(db), deps }, { creatorId: userId, templateRid, status: 'running' });
      await seedGenerationJob({ rows: sqliteRows(db), deps }, { creatorId: userId, templateRid, status: 'succeeded' });
      const jobRid = newRid('export-job');
      // In SQL: today's schema names columns that later migrations add (progress, version).
      sqlite
        .prepare(`INSERT INTO export_jobs (rid, creator_id, source_type, user_locale, user_timezone, status, created_at, expires_at) VALUES (?, ?, 'documentSource', 'en', 'Etc/UTC', 'running', ?, ?)`)
        .run(jobRid, userId, now, now + 1);
      db
        .insert(files)
        .values({ rid: newRid('file'), exportJobRid: jobRid, ownerId: userId, mediaType: 'application/pdf', filename: 'a.pdf', sizeBytes: 1234, sha256: '0', storageKey: 'k', createdAt: now, expiresAt: now + 1 })
        .run();
      expect(db.select().from(userUsage).all()).toEqual([]);

      migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      const usage = stored(db);
      expect(usage).toEqual(nonZero(recount(db)));
      expect(usage[userId]).toMatchObject({ activeExportJobs: 1, activeGenerationJobs: 1 });
      expect(usage[userId]!.storedBytes).toBeGreaterThan(1234);
      sqlite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

