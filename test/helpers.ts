import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { openDatabase, type Db, type NotepadDatabase } from '../db/index.js';
import { generationJobs } from '../db/schema.js';
import type { Scope, TemplateParameterValue } from '../server/contract/api.js';
import type { Content } from '../server/contract/content.js';
import { newRid } from '../server/contract/rids.js';
import { createDeps, type Deps, type DepsOptions } from '../server/deps.js';
import { TRPCError } from '@trpc/server';
import { ERROR_CODES, type NotepadError } from '../server/contract/errors.js';
import { toNotepadError } from '../server/errors.js';
import { createFileStore, type LocalFileStore } from '../server/files/store.js';
import * as admin from '../server/services/admin.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import type { GrantAction } from '../server/contract/grants.js';

export const SAMPLE_CONTENT: Content = {
  blocks: [
    { type: 'heading', level: 1, content: [{ type: 'text', text: 'Quarterly report' }] },
    { type: 'paragraph', content: [{ type: 'text', text: 'Revenue was ' }, { type: 'number', value: 1234567.891 }] },
  ],
};

export interface TestEnv {
  dir: string;
  database: NotepadDatabase;
  /** The database itself, for a test to look at rows or set up states no API makes (the services see only deps.stores). */
  db: Db;
  deps: Deps;
  files: LocalFileStore;
  logger: Logger;
  /** Every log line written so far, parsed. */
  logLines: () => Array<Record<string, unknown>>;
  /** Controllable clock: starts at a fixed instant; advance with `clock.advance(ms)`. */
  clock: { now: number; advance(ms: number): void };
  cleanup(): void;
}

/** A fresh SQLite database (real migrations) and file store in a temp folder. */
export async function createTestEnv(options: Omit<DepsOptions, 'stores'> & { busyTimeoutMs?: number } = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-test-'));
  const database = openDatabase(join(dir, 'notepad.db'), { busyTimeoutMs: options.busyTimeoutMs ?? 5000 });
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
  const deps = createDeps({ now: () => clock.now, ...options, stores: createSqliteStores(database.db), logger });
  const files = await createFileStore(join(dir, 'files'));
  return {
    dir,
    database,
    db: database.db,
    deps,
    files,
    logger,
    logLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    clock,
    cleanup() {
      database.close();
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
export function seedGenerationJob(
  { db, deps }: { db: Db; deps: Deps },
  opts: {
    creatorId: string;
    templateRid: string;
    status: 'running' | 'succeeded' | 'failed';
    content?: Content;
    parameters?: Record<string, TemplateParameterValue>;
    expiresAt?: number;
  },
): string {
  const rid = newRid('generation-job', deps.uuid());
  const now = deps.now();
  db
    .insert(generationJobs)
    .values({
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
    })
    .run();
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
