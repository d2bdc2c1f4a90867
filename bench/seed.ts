/**
 * Databases for the subjects and baselines: the real migrations (openDatabase) and the
 * operator functions (services/admin.ts), exactly as `npm run notepad` seeds one.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type NotepadDatabase } from '../db/index.js';
import { generationJobs } from '../db/schema.js';
import { SCOPES } from '../server/contract/api.js';
import type { Content } from '../server/contract/content.js';
import { newRid } from '../server/contract/rids.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import * as admin from '../server/services/admin.js';

export interface Seed {
  dbPath: string;
  filesDir: string;
  userId: string;
  token: string;
  /** title -> documentRid */
  documents: Record<string, string>;
}

/** A user with a token for the export API and the given documents. */
async function addUser(deps: Deps, name: string, documents: Record<string, Content>): Promise<Omit<Seed, 'dbPath' | 'filesDir'>> {
  const { userId } = await admin.createUser(deps, { name });
  const { token } = await admin.createToken(deps, { userId, scopes: [SCOPES.export] });
  const rids: Record<string, string> = {};
  for (const [title, content] of Object.entries(documents)) {
    rids[title] = (await admin.createDocument(deps, { title, content, ownerId: userId })).documentRid;
  }
  return { userId, token, documents: rids };
}

/** A fresh database in `dir` with one user, a token for the export API, and the given documents. */
export async function seedDatabase(dir: string, documents: Record<string, Content>): Promise<Seed> {
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'notepad.db');
  const database = openDatabase(dbPath);
  try {
    return { dbPath, filesDir: join(dir, 'files'), ...(await addUser(createDeps({ stores: createSqliteStores(database.db) }), 'Bench User', documents)) };
  } finally {
    database.close();
  }
}

/** Another user of the seed's database, with a token for the export API and documents of its own. */
export async function seedOtherUser(seed: Seed, name: string, documents: Record<string, Content> = {}): Promise<Omit<Seed, 'dbPath' | 'filesDir'>> {
  const database = openDatabase(seed.dbPath);
  try {
    return await addUser(createDeps({ stores: createSqliteStores(database.db) }), name, documents);
  } finally {
    database.close();
  }
}

/**
 * A generation job of the seed's user that says `succeeded` but holds no content. exportJobs.create
 * accepts an export of it like any other (same checks, same insert); the runner then fails
 * that job at once ("no longer has content to export") instead of rendering it. Lets a probe
 * load create real jobs on a role-all service without also making it render them.
 */
export async function seedContentlessGenerationJob(seed: Seed): Promise<{ templateRid: string; generationJobRid: string }> {
  const database = openDatabase(seed.dbPath);
  try {
    const deps = createDeps({ stores: createSqliteStores(database.db) });
    const { templateRid } = await admin.createTemplate(deps, { title: 'Probe template', ownerId: seed.userId, content: { blocks: [] }, parameters: [] });
    const generationJobRid = newRid('generation-job');
    const now = Date.now();
    database.db
      .insert(generationJobs)
      .values({
        rid: generationJobRid,
        templateRid,
        templateVersion: 1,
        creatorId: seed.userId,
        parameters: {},
        status: 'succeeded',
        content: null,
        createdAt: now,
        finishedAt: now,
        // Generation jobs normally expire after an hour and the sweeper deletes them.
        expiresAt: now + 7 * 24 * 3_600_000,
      })
      .run();
    return { templateRid, generationJobRid };
  } finally {
    database.close();
  }
}

/**
 * A v4-shaped rid of the recursive CTE's row `i`: spread evenly over the whole key space,
 * so the server's random new rids land all over the primary-key index as they would among
 * random ones, but generated in ascending order, so the load itself only appends to it.
 */
const spreadRid = (kind: string, salt: number) =>
  `printf('ri.notepad.main.${kind}.%08x-%04x-4%03x-a%03x-%012x', i * @spread, (i * ${7919 + salt}) & 65535, (i * 31) & 4095, (i * ${17 + salt}) & 4095, (i * 104729 + ${salt}) % 281474976710656)`;

/**
 * A one-off bulk load into the seed's database: no WAL (every page would be written twice,
 * to the log and back) and no fsync. Only this connection; the servers under test reopen it
 * in WAL mode.
 */
function bulkLoad(seed: Seed, load: (sqlite: NotepadDatabase['sqlite']) => void): void {
  const database = openDatabase(seed.dbPath);
  try {
    const { sqlite } = database;
    sqlite.pragma('journal_mode = MEMORY');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('cache_size = -262144');
    load(sqlite);
    sqlite.pragma('journal_mode = WAL');
  } finally {
    database.close();
  }
}

/**
 * Adds `count` finished export jobs of the seed's user, created over the last week. One
 * INSERT ... SELECT over a recursive CTE: a million rows in seconds.
 */
export function seedExportJobs(seed: Seed, documentRid: string, count: number): void {
  const now = Date.now();
  const week = 7 * 24 * 3_600_000;
  bulkLoad(seed, (sqlite) =>
    sqlite
      .prepare(
        `INSERT INTO export_jobs (rid, creator_id, source_type, document_rid, user_locale, user_timezone, status,
                                  file_rid, error_message, error_code, created_at, started_at, finished_at, expires_at, attempts)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
         SELECT ${spreadRid('export-job', 0)}, @userId, 'documentSource', @documentRid, 'en-US', 'America/New_York',
                CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
                CASE WHEN i % 50 = 0 THEN NULL ELSE ${spreadRid('file', 1)} END,
                CASE WHEN i % 50 = 0 THEN 'The export failed because of an internal error.' END,
                CASE WHEN i % 50 = 0 THEN 'INTERNAL' END,
                @start + i * @step, @start + i * @step, @start + i * @step + 500, @start + i * @step + @week, 1
         FROM n`,
      )
      .run({
        count,
        spread: Math.floor(2 ** 32 / (count + 1)),
        userId: seed.userId,
        documentRid,
        start: now - week,
        step: Math.max(1, Math.floor(week / count)),
        week,
      }),
  );
}

/**
 * Adds `count` queued export jobs (running, never claimed) of `documentRid`, created over
 * the last hour: every other one by one of `others` in turn, the rest by the seed's user.
 */
export function seedQueuedExportJobs(seed: Seed, documentRid: string, count: number, others: readonly string[]): void {
  const now = Date.now();
  const hour = 3_600_000;
  bulkLoad(seed, (sqlite) =>
    sqlite
      .prepare(
        `INSERT INTO export_jobs (rid, creator_id, source_type, document_rid, user_locale, user_timezone, status, created_at, expires_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
         SELECT ${spreadRid('export-job', 2)},
                CASE WHEN i % 2 = 0 THEN json_extract(@others, '$[' || CAST((i / 2) % @otherCount AS INTEGER) || ']') ELSE @userId END,
                'documentSource', @documentRid, 'en-US', 'America/New_York', 'running',
                @start + i * @step, @start + i * @step + 7 * 24 * @hour
         FROM n`,
      )
      .run({
        count,
        spread: Math.floor(2 ** 32 / (count + 1)),
        userId: seed.userId,
        others: JSON.stringify(others),
        otherCount: others.length,
        documentRid,
        start: now - hour,
        step: Math.max(1, Math.floor(hour / count)),
        hour,
      }),
  );
}

/**
 * Adds `count` export jobs of `userId` that are running and leased to a runner that is not
 * there, until `leaseUntil`: no runner claims them and nothing changes them, so whoever
 * follows them (the event stream) waits idle. Written beside a running server (plain WAL writes).
 */
export function seedHeldExportJobs(seed: Seed, userId: string, documentRid: string, count: number, leaseUntil: number): string[] {
  const database = openDatabase(seed.dbPath);
  try {
    const now = Date.now();
    const rids = Array.from({ length: count }, () => `ri.notepad.main.export-job.${randomUUID()}`);
    const insert = database.sqlite.prepare(
      `INSERT INTO export_jobs (rid, creator_id, source_type, document_rid, user_locale, user_timezone, status, created_at, started_at, expires_at,
                                attempts, lease_owner, lease_expires_at, progress_stage, version)
       VALUES (?, ?, 'documentSource', ?, 'en-US', 'America/New_York', 'running', ?, ?, ?, 1, 'bench-elsewhere', ?, 'rendering', 1)`,
    );
    database.sqlite.transaction(() => {
      for (const rid of rids) insert.run(rid, userId, documentRid, now, now, now + 86_400_000, leaseUntil);
    })();
    return rids;
  } finally {
    database.close();
  }
}
