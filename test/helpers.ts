import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { openDatabase, type Db, type NotepadDatabase } from '../db/index.js';
import { sql } from 'drizzle-orm';
import { openPostgres, type PgDb } from '../db/pg/index.js';
import type { Scope, TemplateParameterValue } from '../server/contract/api.js';
import type { Content } from '../server/contract/content.js';
import { newRid } from '../server/contract/rids.js';
import { createDeps, type Deps, type DepsOptions } from '../server/deps.js';
import { TRPCError } from '@trpc/server';
import { ERROR_CODES, type NotepadError } from '../server/contract/errors.js';
import { toNotepadError } from '../server/errors.js';
import { createS3FileStore } from '../server/files/s3-store.js';
import { createFileStore, type FileStore, type LocalFileStore } from '../server/files/store.js';
import * as admin from '../server/services/admin.js';
import type { Backend, Stores } from '../server/stores/index.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import { freshBucket, freshPostgresDatabase, testBackends, testS3Client } from './backends.js';
import { pgRows, sqliteRows, type TestRows } from './rows.js';
import type { GrantAction } from '../server/contract/grants.js';

export const SAMPLE_CONTENT: Content = {
  blocks: [
    { type: 'heading', level: 1, content: [{ type: 'text', text: 'Quarterly report' }] },
    { type: 'paragraph', content: [{ type: 'text', text: 'Revenue was ' }, { type: 'number', value: 1234567.891 }] },
  ],
};

/** Which backend the storage suites run on: `NOTEPAD_TEST_BACKEND=postgres` (PostgreSQL and S3), SQLite otherwise. */
export type TestBackend = 'sqlite' | 'postgres';
export const TEST_BACKEND: TestBackend = testBackendFrom(process.env.NOTEPAD_TEST_BACKEND);

function testBackendFrom(value: string | undefined): TestBackend {
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  // A misspelt backend must not quietly run the suites on SQLite a second time.
  throw new Error(`NOTEPAD_TEST_BACKEND must be sqlite or postgres, not ${JSON.stringify(value)}`);
}

export interface TestEnv {
  backend: TestBackend;
  /** A temporary folder of the test's own (the SQLite file and files directory live here on SQLite). */
  dir: string;
  deps: Deps;
  /** The file store: a directory on SQLite, a fresh S3 bucket on PostgreSQL. */
  files: FileStore;
  /** Rows, for a test to look at them or set up states no API makes (the services see only deps.stores). */
  rows: TestRows;
  /** The opened backend's coordination (PostgreSQL's), for a runner that needs it. */
  coordination: Backend['coordination'];
  /** The PostgreSQL database's URL (PostgreSQL only), for a test that must hold a connection of its own. */
  postgresUrl: string | undefined;
  /** The same database opened again, as another process would: stores over connections of their own. */
  connectAgain(): Promise<{ stores: Stores; close(): Promise<void> }>;
  logger: Logger;
  /** Every log line written so far, parsed. */
  logLines: () => Array<Record<string, unknown>>;
  /** Controllable clock: starts at a fixed instant; advance with `clock.advance(ms)`. */
  clock: { now: number; advance(ms: number): void };
  /** Closes the backend and removes what it made (on SQLite, synchronously, before the promise). */
  cleanup(): Promise<void>;
}

/** A SQLite test environment: the database itself too, for suites about SQLite alone. */
export interface SqliteTestEnv extends TestEnv {
  backend: 'sqlite';
  database: NotepadDatabase;
  /** The database itself, for a test to look at rows or set up states no API makes. */
  db: Db;
  files: LocalFileStore;
}

export type TestEnvOptions = Omit<DepsOptions, 'stores'> & { busyTimeoutMs?: number };

function testLogAndClock(options: TestEnvOptions) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = options.logger ?? pino({ level: 'debug' }, sink);
  const clock = {
    now: Date.UTC(2026, 10, 29, 12, 0, 0),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  return { logger, clock, logLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/**
 * A fresh database and file store on the backend `NOTEPAD_TEST_BACKEND` names: SQLite (real
 * migrations) and a directory in a temp folder, or a fresh PostgreSQL database and S3 bucket on
 * the test servers (test/backends.ts).
 */
export async function createTestEnv(options: TestEnvOptions = {}): Promise<TestEnv> {
  return TEST_BACKEND === 'postgres' ? createPostgresTestEnv(options) : createSqliteTestEnv(options);
}

/** A fresh SQLite database (real migrations) and file store in a temp folder, whatever NOTEPAD_TEST_BACKEND says. */
export async function createSqliteTestEnv(options: TestEnvOptions = {}): Promise<SqliteTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-test-'));
  const database = openDatabase(join(dir, 'notepad.db'), { busyTimeoutMs: options.busyTimeoutMs ?? 5000 });
  const { logger, clock, logLines } = testLogAndClock(options);
  const deps = createDeps({ now: () => clock.now, ...options, stores: createSqliteStores(database.db), logger });
  const files = await createFileStore(join(dir, 'files'));
  return {
    backend: 'sqlite',
    dir,
    database,
    db: database.db,
    rows: sqliteRows(database.db),
    coordination: undefined,
    postgresUrl: undefined,
    async connectAgain() {
      const again = openDatabase(join(dir, 'notepad.db'));
      return { stores: createSqliteStores(again.db), close: async () => again.close() };
    },
    deps,
    files,
    logger,
    logLines,
    clock,
    async cleanup() {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type PostgresDatabase = Awaited<ReturnType<typeof freshPostgresDatabase>>;
/**
 * A database an earlier environment of this test file migrated and then emptied, for the next
 * one: creating and migrating a database costs a second, emptying it a few milliseconds. The
 * last one is left to the throwaway cluster.
 */
let emptied: PostgresDatabase | undefined;

/** Empties every table of the application's schema (the migrations' bookkeeping stays): as fresh as a new database. */
async function emptyTables(rows: PgDb): Promise<void> {
  const tables = await rows.execute<{ name: string }>(sql`select tablename as name from pg_tables where schemaname = 'public'`);
  if (tables.rows.length === 0) return;
  await rows.execute(sql`truncate table ${sql.join(tables.rows.map((t) => sql.identifier(t.name)), sql`, `)} restart identity cascade`);
}

async function createPostgresTestEnv(options: TestEnvOptions): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-test-'));
  const database = emptied ?? (await freshPostgresDatabase());
  emptied = undefined;
  const backend = await openPgBackend(database.url, { pool: 4, lockTimeoutMs: options.busyTimeoutMs ?? 5000 });
  // The rows' own connection: a test's look never waits for, or holds, a connection of the stores.
  const rowsDb = await openPostgres(database.url, { poolSize: 1 });
  const bucket = await freshBucket();
  const s3 = testS3Client();
  const { endpoint, region, accessKeyId, secretAccessKey } = testBackends().s3;
  const files = createS3FileStore(
    { kind: 's3', bucket, prefix: '', region, endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } },
    s3,
  );
  const { logger, clock, logLines } = testLogAndClock(options);
  // The backend's change hints unless the test says otherwise (undefined: its watchers see other processes' changes at the poll only).
  const exportJobChangeHints = 'exportJobChangeHints' in options ? options.exportJobChangeHints : backend.coordination?.listenForExportJobChanges;
  const deps = createDeps({ now: () => clock.now, ...options, stores: backend.stores, logger, exportJobChangeHints });
  return {
    backend: 'postgres',
    dir,
    rows: pgRows(rowsDb.db),
    coordination: backend.coordination,
    postgresUrl: database.url,
    async connectAgain() {
      const again = await openPgBackend(database.url, { pool: 2 });
      return { stores: again.stores, close: () => again.close() };
    },
    deps,
    files,
    logger,
    logLines,
    clock,
    async cleanup() {
      s3.destroy();
      // Its change listener's connection, if a test watched a job without an app to close it.
      await deps.watchers.close();
      await backend.close();
      // Emptied for the next environment only if nothing else holds it (the lock timeout says so); dropped otherwise.
      const reusable = !emptied && (await emptyTables(rowsDb.db).then(() => true, () => false));
      await rowsDb.close();
      if (reusable) emptied = database;
      else await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The API's scopes: what a test user gets by default (not notepad:admin). */
export const API_SCOPES: Scope[] = ['api:notepad-export', 'api:notepad-write'];

/** A user with a token (all API scopes unless told otherwise). */
export async function seedUser(deps: Deps, opts: { name?: string; scopes?: Scope[]; canCreateExportJobs?: boolean } = {}) {
  const { userId } = await admin.createUser(deps, { name: opts.name ?? 'Ada', canCreateExportJobs: opts.canCreateExportJobs ?? true });
  const { token } = await admin.createToken(deps, { userId, scopes: opts.scopes ?? API_SCOPES });
  return { userId, token };
}

export async function seedDocument(deps: Deps, ownerId: string, opts: { title?: string; content?: Content } = {}) {
  return (await admin.createDocument(deps, { title: opts.title ?? 'Quarterly report', content: opts.content ?? SAMPLE_CONTENT, ownerId })).documentRid;
}

export async function seedGrant(deps: Deps, userId: string, resourceRid: string, action: GrantAction) {
  await admin.grant(deps, { userId, resourceRid, action });
}

/** A template with one published version, for seeding generation jobs directly. */
export async function seedTemplate(deps: Deps, ownerId: string, content: Content = SAMPLE_CONTENT) {
  return (await admin.createTemplate(deps, { title: 'Template', ownerId, content, parameters: [] })).templateRid;
}

/** A generation job in any state, written straight to the database (no API makes a finished one at will). */
export async function seedGenerationJob(
  { rows, deps }: { rows: TestRows; deps: Deps },
  opts: {
    creatorId: string;
    templateRid: string;
    status: 'running' | 'succeeded' | 'failed';
    content?: Content;
    parameters?: Record<string, TemplateParameterValue>;
    expiresAt?: number;
  },
): Promise<string> {
  const rid = newRid('generation-job', deps.uuid());
  const now = deps.now();
  await rows.insertGenerationJob({
    rid,
    templateRid: opts.templateRid,
    templateVersion: 1,
    creatorId: opts.creatorId,
    parameters: opts.parameters ?? {},
    status: opts.status,
    content: opts.status === 'succeeded' ? (opts.content ?? SAMPLE_CONTENT) : null,
    errorMessage: opts.status === 'failed' ? 'boom' : null,
    createdAt: now,
    finishedAt: opts.status === 'running' ? null : now,
    expiresAt: opts.expiresAt ?? now + deps.config.generationJobTtlMs,
  });
  return rid;
}

/**
 * The catalog error an in-process tRPC caller rejected with, or undefined if it resolved.
 * The rejection must be a TRPCError whose code is the catalog's for that error.
 */
export async function callerError(promise: Promise<unknown>): Promise<NotepadError | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) return undefined;
  if (!(error instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(error)}`);
  const notepad = toNotepadError(error);
  if (error.code !== ERROR_CODES[notepad.errorCode].trpc) throw new Error(`${notepad.errorName} came with tRPC code ${error.code}`);
  return notepad;
}
