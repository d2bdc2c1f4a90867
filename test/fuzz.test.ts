import type Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerTask } from 'vitest';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { openDatabase } from '../db/index.js';
import { buildApp } from '../server/app.js';
import { ExportJob, FileMetadata, GenerationJob, ListExportJobsResponse, SaveDocumentResponse, SCOPES } from '../server/contract/api.js';
import { ERRORS, type ErrorName } from '../server/contract/errors.js';
import { markdownToTemplate } from '../server/import/markdown.js';
import { GenerationJobRid, newFolderRid, newRid } from '../server/contract/rids.js';
import { createDeps } from '../server/deps.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import * as admin from '../server/services/admin.js';
import {
  ADMIN_PROCEDURES,
  foundryErrorProblems,
  OPERATIONS,
  statusesOf,
  POST_BODY_ERRORS,
  REST_ONLY_ERRORS,
  TRANSPORT_ERRORS,
  type Operation,
  type OperationName,
} from './contract-routes.js';
import {
  anyString,
  applyMutation,
  CONTENT_TYPES,
  encode,
  encoding,
  extraHeaders,
  headerText,
  hostileValue,
  mutation,
  percentEncode,
  restQuery,
  type PreviewReading,
  WRONG_METHODS,
  type Encoding,
  type Json,
  type Method,
} from './fuzz-arbitraries.js';
import { fuzzConfig, splitRuns } from './fuzz-config.js';
import { createSqliteTestEnv, SAMPLE_CONTENT, seedDocument, seedGenerationJob, seedGrant, seedUser, type SqliteTestEnv } from './helpers.js';
import { recordReliability } from './reliability-record.js';

/**
 * Property-based fuzzing of every REST route and tRPC procedure (issue 6). Each case is a
 * generated or mutated request; the invariants hold for all of them:
 *
 * - the status is one the contract allows for that route, and a 500 is only ever a
 *   FAILED_PRECONDITION error (GenerationJobStatusRunning/Failed);
 * - every error body is the contract's shape, with a catalog errorName and its errorCode;
 * - auth, then scope, then preview are checked before anything else;
 * - an error changes nothing in the database (row counts and a checksum of every row of
 *   every table), and a 200 adds exactly the rows of what it created;
 * - the server still answers /health;
 * - every 500 is logged at error level under the errorInstanceId it answered with.
 *
 * Cases run as production runs them: no transaction around them, so the service's group
 * commit (BEGIN IMMEDIATE / COMMIT) is the real one. Each batch of cases gets its own copy of
 * the seeded database file and its own app on it (see `currentCopy`); what a case writes stays
 * in that copy for the rest of its batch, so every case compares the rows before and after
 * itself rather than against the seeded state.
 *
 * FUZZ_RUNS (default 2000) sets the number of cases; see test/fuzz-config.ts.
 */

const config = fuzzConfig();
const ALL_NAMES = Object.keys(ERRORS) as ErrorName[];
/** Off the route's own method and path another route may answer: any catalog error but a server fault. */
const ANY_CONTRACT_ERROR = ALL_NAMES.filter((n) => n !== 'Default:Internal' && n !== 'Default:Timeout');

// ---------------------------------------------------------------------------------------
// The world every batch of cases starts from (each batch on its own copy of the seeded file).

interface World {
  tokens: {
    owner: string;
    exportOnly: string;
    writeOnly: string;
    admin: string;
    revoked: string;
    expired: string;
    other: string;
    /** The other user's: the one token admin.tokens.revoke may revoke, so that no case revokes a token later cases rely on. */
    revocable: string;
  };
  users: { owner: string; other: string; limited: string };
  limitedToken: string;
  docs: string[];
  templates: string[];
  generationJobs: string[];
  exportJobs: string[];
  files: string[];
  folders: string[];
  takenName: string;
}

let env: SqliteTestEnv;
/** The seeded database file every copy is made from; closed, so it never changes. */
let seedFile: string;
let world: World;
/** errorInstanceIds of the log lines at error level (pino's 50). */
const loggedErrorIds = new Set<string>();
let tokenLeaks = 0;
const leakedLines: string[] = [];
/** Log lines with a token that the client itself put in the URL (the request log records URLs). */
let urlTokenLines = 0;
let secrets: string[] = [];
let hugeBytes = 0;

const UNKNOWN = {
  doc: newRid('notepad', randomUUID()),
  template: newRid('notepad-template', randomUUID()),
  generationJob: newRid('generation-job', randomUUID()),
  exportJob: newRid('export-job', randomUUID()),
  file: newRid('file', randomUUID()),
  folder: newFolderRid(randomUUID()),
};

const TEMPLATE_MARKDOWN =
  '# Invoice for {{customer}}\n\nAmount {{amount:double}}, due {{due?:date}}, sent {{sentAt?:dateTime}}.\n\nObject {{obj?:objectRid}} in {{set?:objectSetRid}}.';

beforeAll(async () => {
  // Logs go nowhere but are scanned: no seeded token may ever be written to them.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      if (text.includes('"level":50')) {
        for (const line of text.split('\n')) {
          if (!line.includes('"level":50')) continue;
          const id = (JSON.parse(line) as { errorInstanceId?: unknown }).errorInstanceId;
          if (typeof id === 'string') loggedErrorIds.add(id);
        }
      }
      for (const secret of secrets) {
        if (text.includes(secret)) {
          tokenLeaks++;
          if (leakedLines.length < 3) leakedLines.push(text.slice(0, 2000));
        }
      }
      done();
    },
  });
  // An event stream of a job that keeps running ends after maxStreamMs: each case gets its whole answer.
  env = await createSqliteTestEnv({ logger: pino({ level: 'info' }, sink), config: { events: { maxStreamMs: 20, heartbeatMs: 5 } } });
  const { deps } = env;
  hugeBytes = deps.config.bodyLimit + 1;

  const owner = await seedUser(deps, { name: 'Owner' });
  const other = await seedUser(deps, { name: 'Other' });
  const limited = await seedUser(deps, { name: 'Limited', canCreateExportJobs: false });
  const token = async (scopes: Array<(typeof SCOPES)[keyof typeof SCOPES]>, expiresInMs?: number) =>
    (await admin.createToken(deps, { userId: owner.userId, scopes, ...(expiresInMs ? { expiresInMs } : {}) })).token;
  const revoked = await token([SCOPES.export, SCOPES.write]);
  await admin.revokeToken(deps, { token: revoked });
  const expired = await token([SCOPES.export, SCOPES.write], 1000);
  env.clock.advance(1000);

  const ownerDoc = await seedDocument(deps, owner.userId, { title: 'Owner doc' });
  const viewDoc = await seedDocument(deps, other.userId, { title: 'View only' });
  await seedGrant(deps, owner.userId, viewDoc, 'view');
  const othersDoc = await seedDocument(deps, other.userId, { title: 'Not shared' });

  const template = markdownToTemplate(TEMPLATE_MARKDOWN);
  const ownerTemplate = (await admin.createTemplate(deps, { title: 'Invoice', ownerId: owner.userId, ...template })).templateRid;
  await admin.publishTemplateVersion(deps, { templateRid: ownerTemplate, ...template });
  const viewTemplate = (await admin.createTemplate(deps, { title: 'Viewable', ownerId: other.userId, ...template })).templateRid;
  await seedGrant(deps, owner.userId, viewTemplate, 'view');
  const othersTemplate = (await admin.createTemplate(deps, { title: 'Hidden', ownerId: other.userId, ...template })).templateRid;

  const job = (creatorId: string, status: 'running' | 'succeeded' | 'failed', expiresAt?: number) =>
    seedGenerationJob(env, { creatorId, templateRid: ownerTemplate, status, ...(expiresAt !== undefined ? { expiresAt } : {}) });
  const generationJobs = [
    await job(owner.userId, 'succeeded'),
    await job(owner.userId, 'failed'),
    await job(owner.userId, 'succeeded', env.clock.now),
    await job(other.userId, 'succeeded'),
  ];

  const ownerFolder = (await admin.createFolder(deps, { name: 'Mine', ownerId: owner.userId })).folderRid;
  const viewFolder = (await admin.createFolder(deps, { name: 'Theirs, visible', ownerId: other.userId })).folderRid;
  await seedGrant(deps, owner.userId, viewFolder, 'view');
  const othersFolder = (await admin.createFolder(deps, { name: 'Theirs', ownerId: other.userId })).folderRid;
  const takenName = 'Taken';
  await admin.createDocument(deps, { title: takenName, content: SAMPLE_CONTENT, ownerId: owner.userId, parentFolderRid: ownerFolder });

  const seedApp = await buildApp({ deps, files: env.files, logger: env.logger });

  // Two finished exports (the owner's and another user's) and one still running.
  const create = async (bearer: string, documentRid: string) => {
    const response = await seedApp.inject({
      method: 'POST',
      url: '/api/v2/notepad/exportJobs/create?preview=true',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      payload: { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } },
    });
    return response.json<{ rid: string }>().rid;
  };
  const ownerJob = await create(owner.token, ownerDoc);
  const othersJob = await create(other.token, othersDoc);
  const runner = createJobRunner({ deps, files: env.files, render: (request) => renderPdf(request) });
  await runner.drain();
  await runner.stop(0);
  const runningJob = await create(owner.token, ownerDoc);
  // After the drain, which would have run it: the GenerationJobStatusRunning paths need one that stays running.
  generationJobs.splice(1, 0, await job(owner.userId, 'running'));
  const fileOf = (rid: string) => {
    const row = env.database.sqlite.prepare('select file_rid from export_jobs where rid = ?').pluck().get(rid);
    if (typeof row !== 'string') throw new Error(`export ${rid} did not finish`);
    return row;
  };

  world = {
    tokens: {
      owner: owner.token,
      exportOnly: await token([SCOPES.export]),
      writeOnly: await token([SCOPES.write]),
      admin: await token([SCOPES.admin]),
      revoked,
      expired,
      other: other.token,
      revocable: (await admin.createToken(deps, { userId: other.userId, scopes: [SCOPES.export, SCOPES.write] })).token,
    },
    users: { owner: owner.userId, other: other.userId, limited: limited.userId },
    limitedToken: limited.token,
    docs: [ownerDoc, viewDoc, othersDoc, UNKNOWN.doc],
    templates: [ownerTemplate, viewTemplate, othersTemplate, UNKNOWN.template],
    generationJobs: [...generationJobs, UNKNOWN.generationJob],
    exportJobs: [ownerJob, runningJob, othersJob, UNKNOWN.exportJob],
    files: [fileOf(ownerJob), fileOf(othersJob), UNKNOWN.file],
    folders: [ownerFolder, viewFolder, othersFolder, UNKNOWN.folder, ownerDoc],
    takenName,
  };
  secrets = [...Object.values(world.tokens), world.limitedToken];

  // The seeded file, complete without its WAL, then closed: the source of every copy.
  await seedApp.close();
  const [checkpoint] = env.database.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  // Not busy, and every frame of the WAL moved into the file.
  expect(checkpoint?.busy).toBe(0);
  expect(checkpoint?.checkpointed).toBe(checkpoint?.log);
  env.database.close();
  seedFile = join(env.dir, 'notepad.db');
  mkdirSync(join(env.dir, 'copies'));
}, 60_000);

afterAll(async () => {
  await copy?.close();
  env?.cleanup();
});

// ---------------------------------------------------------------------------------------
// Copies of the seeded database, each with its own app: no case runs inside a transaction.

/**
 * Cases per copy. A copy keeps what its cases wrote: a small batch keeps later cases close to
 * the seeded world (a name already taken, a grant revoked) while opening a copy and building
 * its app (~20 ms) stays a small part of the run.
 */
const CASES_PER_COPY = 25;

interface Copy {
  n: number;
  /** The target whose cases this copy runs: each target starts on a fresh copy. */
  target: string;
  app: FastifyInstance;
  sqlite: Database.Database;
  /** Per table, a prepared read of every row in rowid order (the schema never changes). */
  readers: Array<{ table: string; rows: () => unknown[] }>;
  cases: number;
  /** A case failed on it: the next case (fast-check shrinking, say) starts on a fresh copy. */
  spoiled: boolean;
  /** Set once the app listens, for the real-HTTP cases. */
  baseUrl: string | undefined;
  close(): Promise<void>;
}

let copy: Copy | undefined;
let copiesOpened = 0;

async function openCopy(target: string): Promise<Copy> {
  const n = ++copiesOpened;
  const path = join(env.dir, 'copies', `copy-${n}.db`);
  copyFileSync(seedFile, path);
  const database = openDatabase(path);
  // The seeded clock (expired tokens and jobs stay expired), the same log sink, the seeded file store (read only: no runner).
  const deps = createDeps({ stores: createSqliteStores(database.db), logger: env.logger, now: () => env.clock.now, config: { events: env.deps.config.events } });
  const app = await buildApp({ deps, files: env.files, logger: env.logger });
  const sqlite = database.sqlite;
  const readers = (sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all() as string[]).map(
    (table) => {
      const statement = sqlite.prepare(`select * from "${table}" order by rowid`).raw();
      return { table, rows: () => statement.all() };
    },
  );
  return {
    n,
    target,
    app,
    sqlite,
    readers,
    cases: 0,
    spoiled: false,
    baseUrl: undefined,
    async close() {
      await app.close();
      database.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    },
  };
}

/** The copy the next case of `target` runs on: a fresh one per target, per CASES_PER_COPY cases, and after a failure. */
async function currentCopy(target: string): Promise<Copy> {
  if (copy && copy.target === target && copy.cases < CASES_PER_COPY && !copy.spoiled) return copy;
  await copy?.close();
  copy = undefined;
  copy = await openCopy(target);
  return copy;
}

// ---------------------------------------------------------------------------------------
// Database snapshots: per table, the row count and a sha256 of every row in rowid order.

type Snapshot = Map<string, { count: number; hash: string }>;

function snapshot(c: Copy): Snapshot {
  const result: Snapshot = new Map();
  for (const { table, rows } of c.readers) {
    const all = rows();
    const hash = createHash('sha256');
    for (const row of all) hash.update(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
    result.set(table, { count: all.length, hash: hash.digest('hex') });
  }
  return result;
}

/** Differences between snapshots, as `table: before -> after rows` (hash changes too). */
function changes(before: Snapshot, after: Snapshot): Map<string, number> {
  const result = new Map<string, number>();
  for (const [table, b] of before) {
    const a = after.get(table);
    if (!a || a.hash !== b.hash) result.set(table, (a?.count ?? 0) - b.count);
  }
  for (const table of after.keys()) if (!before.has(table)) result.set(table, after.get(table)!.count);
  return result;
}

/**
 * Tables the database derives from the others (triggers keep user_usage: test/user-usage.test.ts
 * checks it against a recount). A successful write changes them with its rows; a refused one
 * must leave them alone like every other table.
 */
const DERIVED_TABLES = new Set(['user_usage']);

/** Rows a 200 of each writing operation adds, and nothing else (derived tables aside). */
const EXPECTED_ADDITIONS: Partial<Record<OperationName, Record<string, number>>> = {
  'exportJobs.create': { export_jobs: 1 },
  'templates.generate': { generation_jobs: 1 },
  'generationJobs.saveDocument': { documents: 1, permissions: 2 },
};

// ---------------------------------------------------------------------------------------
// Requests.

/** 'ok': the credentials are good for the route; else the errors they alone may produce; 'unknown': not predicted. */
type AuthExpect = 'ok' | 'unknown' | readonly ErrorName[];

interface Req {
  target: string;
  kind: 'rest' | 'trpc' | 'random';
  method: string;
  url: string;
  headers: Record<string, string>;
  body: { value: Json; encoding: Encoding } | undefined;
  /** Error names the contract allows here. */
  allowed: ReadonlySet<ErrorName>;
  op: OperationName | undefined;
  writes: boolean;
  batch: boolean;
  /** What the auth header alone must produce, when the request reaches the route. */
  auth: AuthExpect;
  missingScope: string | undefined;
  /** REST: how the query reads `preview` (undefined: not predicted). */
  preview: PreviewReading | undefined;
}

function describeReq(req: Req): string {
  const payload = payloadOf(req);
  const shown = payload === undefined ? '(no body)' : payload.length > 300 ? `${JSON.stringify(payload.slice(0, 300))}… (${payload.length} chars)` : JSON.stringify(payload);
  return `${req.method} ${req.url.length > 300 ? `${req.url.slice(0, 300)}…` : req.url}\n  headers ${JSON.stringify(req.headers).slice(0, 400)}\n  body ${shown}`;
}

/** fast-check prints counterexamples with this, rather than dumping megabyte bodies. */
function printable(req: Req): Req {
  Object.defineProperty(req, fc.toStringMethod, { value: () => describeReq(req), enumerable: false });
  return req;
}

function payloadOf(req: Req): string | undefined {
  if (!req.body) return undefined;
  return encode(req.body.value, req.body.encoding, hugeBytes);
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

type Sender = (req: Req, c: Copy) => Promise<Res>;

const viaInject: Sender = async (req, c) => {
  const payload = payloadOf(req);
  const response = await c.app.inject({
    method: req.method as never,
    url: req.url,
    headers: req.headers,
    ...(payload !== undefined ? { payload } : {}),
  });
  return { status: response.statusCode, headers: response.headers, body: response.rawPayload };
};

// ---------------------------------------------------------------------------------------
// Arbitraries over the world.

interface AuthChoice {
  header: string | undefined;
  expect: AuthExpect;
}

function authArb(good: string, noScope: string): fc.Arbitrary<AuthChoice> {
  const t = world.tokens;
  const fixed: AuthChoice[] = [
    { header: undefined, expect: ['MissingCredentials'] },
    { header: '', expect: ['MissingCredentials'] },
    { header: 'Basic dXNlcjpwYXNz', expect: ['MissingCredentials'] },
    { header: `Token ${good}`, expect: ['MissingCredentials'] },
    { header: good, expect: ['MissingCredentials'] },
    { header: 'Bearer ', expect: ['MissingCredentials'] },
    { header: 'Bearer', expect: ['MissingCredentials'] },
    { header: 'Bearer \t ', expect: ['MissingCredentials'] },
    // Not one b64token (RFC 6750): either reading of "not `Bearer <non-empty>`" is defensible.
    { header: `Bearer ${good} extra`, expect: ['MissingCredentials', 'InvalidCredentials'] },
    // The scheme is case-insensitive and whitespace around the token is tolerated (RFC 9110).
    { header: `bearer ${good}`, expect: 'ok' },
    { header: `BEARER\t${good}  `, expect: 'ok' },
    { header: `Bearer ${good}x`, expect: ['InvalidCredentials'] },
    { header: `Bearer ${good.slice(0, -1)}`, expect: ['InvalidCredentials'] },
    { header: 'Bearer np_unknown', expect: ['InvalidCredentials'] },
    { header: `Bearer ${t.revoked}`, expect: ['InvalidCredentials'] },
    { header: `Bearer ${t.expired}`, expect: ['InvalidCredentials'] },
    { header: `Bearer ${'a'.repeat(600)}`, expect: ['InvalidCredentials'] },
    { header: `Bearer ${good}\u00ff`, expect: ['InvalidCredentials'] },
    { header: `Bearer ${noScope}`, expect: ['ApiUsageDenied'] },
  ];
  // Good credentials of other principals: another user, and one who may not create export jobs.
  const others: AuthChoice[] = good === t.admin ? [] : [{ header: `Bearer ${t.other}`, expect: 'ok' }, { header: `Bearer ${world.limitedToken}`, expect: 'ok' }];
  return fc.oneof(
    { weight: 24, arbitrary: fc.constant({ header: `Bearer ${good}`, expect: 'ok' as const }) },
    { weight: 5, arbitrary: fc.constantFrom(...fixed) },
    ...(others.length ? [{ weight: 3, arbitrary: fc.constantFrom(...others) }] : []),
    { weight: 1, arbitrary: headerText.map((header) => ({ header, expect: 'unknown' as const })) },
  );
}

interface Param {
  value: string;
  /** Put in the path as is, not percent-encoded. */
  raw: boolean;
}

const RAW_SEGMENTS = ['%ZZ', '%', '%2e%2e', '..', '.', '%00', '%2F', 'a%2Fb', '%E0%A4%A', '%C0%AF', '%EF%BF%BF', '+', '%20', ';x=1', 'x'.repeat(501), 'ri.notepad.main.export-job.%00'];

function paramArb(pool: readonly string[], wrongKinds: readonly string[]): fc.Arbitrary<Param> {
  const malformed = fc.oneof(
    anyString,
    fc.constantFrom(
      "ri.notepad.main.notepad.1' OR 1=1",
      '../../etc/passwd',
      'x'.repeat(5000),
      `${pool[0]!.toUpperCase()}`,
      `${pool[0]!}\n`,
      ` ${pool[0]!}`,
      `${pool[0]!.slice(0, -1)}`,
      pool[0]!.replace(/-4([0-9a-f]{3})-/, '-1$1-'),
    ),
  );
  return fc.oneof(
    { weight: 12, arbitrary: pick(pool).map((value) => ({ value, raw: false })) },
    { weight: 2, arbitrary: malformed.map((value) => ({ value, raw: false })) },
    { weight: 1, arbitrary: fc.constantFrom(...wrongKinds).map((value) => ({ value, raw: false })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((value) => ({ value, raw: true })) },
  );
}

const LOCALES = ['en-US', 'fr', 'de-CH', 'ja-JP', 'und', 'zh-Hant-TW', 'en_US', '', '!!', 'en-', 'a'.repeat(129), 'x-private', 'i-klingon', 'en-US-u-ca-buddhist'];
const ZONES = ['Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/UTC', 'Asia/Tokyo', '+01:00', 'CET', 'UTC', 'Mars/Olympus_Mons', 'Europe/', '', 'Etc/GMT+5', 'europe/paris', '../etc/passwd'];

/** Mostly the pool's first entry (the one that works), else any entry: enough cases get through to a 200. */
const pick = <T extends Json>(pool: readonly T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(pool[0]!) }, { weight: 1, arbitrary: fc.constantFrom(...pool) });

const textField = (common: readonly string[]) => fc.oneof({ weight: 8, arbitrary: pick(common) }, { weight: 1, arbitrary: anyString }, { weight: 1, arbitrary: hostileValue });

function createBody(): fc.Arbitrary<Json> {
  const w = world;
  const source = fc.oneof(
    fc.record({ type: fc.constant('documentSource'), documentRid: pick(w.docs) }),
    fc.record({ type: fc.constant('generationJobSource'), generationJobRid: pick(w.generationJobs), templateRid: pick(w.templates) }),
  );
  const target = fc.record({ type: fc.constant('pdf'), userLocale: textField(LOCALES), userTimezone: textField(ZONES) });
  return fc.tuple(source, target, fc.boolean()).map(([s, t, short]) => (short ? { source: s, target: t } : { exportJobSource: s, exportJobTarget: t }) as Json);
}

function templateParameters(): fc.Arbitrary<Json> {
  const value = {
    customer: fc.record({ type: fc.constant('string'), value: textField(['Ada', '', 'Zoë 日本']) }),
    amount: fc.record({ type: pick(['double', 'string']), value: fc.oneof({ weight: 3, arbitrary: pick([9876.5, 0, -1, 1e308]) }, { weight: 1, arbitrary: fc.double() }) }),
    due: fc.record({ type: fc.constant('date'), value: textField(['2026-12-24', '2026-02-30', '24.12.2026', '']) }),
    sentAt: fc.record({
      type: fc.constant('dateTime'),
      timestamp: fc.oneof(fc.integer(), pick<Json>([1767225600000, '2026-01-01T00:00:00Z', 8.64e15 + 1, 1.5, '2026-01-01T00:00:00', 'yesterday'])),
      timezone: textField(ZONES),
    }),
    obj: fc.record({ type: fc.constant('objectRid'), value: textField(['ri.phonograph2-objects.main.object.1', '', ' ']) }),
    set: fc.record({ type: fc.constant('objectSetRid'), value: textField(['ri.object-set.main.object-set.1']) }),
  };
  const undeclared = fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant({ type: 'string', value: 'x' }) });
  const valid: Record<string, Json> = {
    customer: { type: 'string', value: 'Ada' },
    amount: { type: 'double', value: 9876.5 },
    due: { type: 'date', value: '2026-12-24' },
    sentAt: { type: 'dateTime', timestamp: '2026-01-01T09:00:00+09:00', timezone: 'Asia/Tokyo' },
    obj: { type: 'objectRid', value: 'ri.phonograph2-objects.main.object.1' },
  };
  // A third of the time a set that works (the required two, some optional ones), else anything goes.
  const working = fc.subarray(['due', 'sentAt', 'obj']).map((optional) => Object.fromEntries(['customer', 'amount', ...optional].map((k) => [k, valid[k]!])));
  return fc
    .tuple(fc.oneof(working, fc.record(value, { requiredKeys: ['customer', 'amount'] }), fc.record(value, { requiredKeys: [] })), undeclared)
    .map(([params, extra]) => ({ ...params, ...(extra ? { undeclared: extra } : {}) }) as Json);
}

function generateBody(): fc.Arbitrary<Json> {
  return fc
    .record(
      { templateVersion: pick<Json>([1, 2, '1', '2', 0, 3, -1, 1.5, '01', 'latest', 2 ** 31, '9999999999', null]), templateParameters: templateParameters() },
      { requiredKeys: ['templateParameters'] },
    )
    .map((b) => b as Json);
}

function saveBody(): fc.Arbitrary<Json> {
  const names = ['Invoice 1', world.takenName, '', '.', '..', 'a/b', 'x'.repeat(701), ' ', 'nul\u0000', 'Ünïcödé ✓'];
  return fc
    .tuple(
      fc.record({ parentFolderRid: pick(world.folders), documentName: textField(names) }, { requiredKeys: ['parentFolderRid'] }),
      fc.boolean(),
    )
    .map(([b, wrapped]) => (wrapped ? { request: b } : b) as Json);
}

/** The valid-looking body of each operation (undefined: a GET, which takes none). */
function bodyArb(op: OperationName): fc.Arbitrary<Json> | undefined {
  switch (op) {
    case 'exportJobs.create':
      return createBody();
    case 'templates.generate':
      return generateBody();
    case 'generationJobs.saveDocument':
      return saveBody();
    default:
      return undefined;
  }
}

function paramPools(op: Operation): Record<string, fc.Arbitrary<Param>> {
  const w = world;
  const names = [...op.rest.url.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const pools: Record<string, readonly string[]> = {
    exportJobRid: w.exportJobs,
    fileRid: w.files,
    templateRid: w.templates,
    generationJobRid: w.generationJobs,
  };
  const everything = [...w.docs, ...w.templates, ...w.generationJobs, ...w.exportJobs, ...w.files, ...w.folders];
  return Object.fromEntries(names.map((name) => [name, paramArb(pools[name]!, everything.filter((rid) => !pools[name]!.includes(rid)))]));
}

const BODY_WRAP = fc.record({ mutation, encoding });

function tokensFor(scope: string): { good: string; noScope: string } {
  const t = world.tokens;
  if (scope === SCOPES.admin) return { good: t.admin, noScope: t.owner };
  return { good: t.owner, noScope: scope === SCOPES.export ? t.writeOnly : t.exportOnly };
}

function headersOf(auth: AuthChoice, contentType: string | undefined, extra: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...extra };
  if (auth.header !== undefined) headers.authorization = auth.header;
  if (contentType !== undefined) headers['content-type'] = contentType;
  return headers;
}

function contentTypeArb(post: boolean, trpc: boolean): fc.Arbitrary<string | undefined> {
  // light-my-request's request is no IncomingMessage, so tRPC's multipart path cannot run under
  // inject; the live-HTTP table below sends real multipart bodies instead.
  const others = trpc ? CONTENT_TYPES.filter((t) => !t.startsWith('multipart/')) : CONTENT_TYPES;
  return fc.oneof(
    { weight: post ? 16 : 8, arbitrary: fc.constant('application/json') },
    { weight: post ? 1 : 8, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(...others) },
  );
}

function methodArb(right: Method): fc.Arbitrary<Method> {
  return fc.oneof({ weight: 12, arbitrary: fc.constant(right) }, { weight: 1, arbitrary: fc.constantFrom(...WRONG_METHODS) });
}

function restTarget(op: Operation): fc.Arbitrary<Req> {
  const { good, noScope } = tokensFor(op.scope);
  const post = op.rest.method === 'POST';
  const body = bodyArb(op.name);
  const bodyChoice: fc.Arbitrary<{ value: Json; encoding: Encoding } | undefined> = body
    ? fc.tuple(body, BODY_WRAP).map(([valid, m]) => ({ value: applyMutation(valid, m.mutation), encoding: m.encoding }))
    : fc.oneof(
        { weight: 5, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.tuple(hostileValue, encoding).map(([value, enc]) => ({ value, encoding: enc })) },
      );
  const params = fc.record(paramPools(op));
  return fc
    .record({
      method: methodArb(op.rest.method),
      params,
      query: restQuery,
      auth: authArb(good, noScope),
      contentType: contentTypeArb(post, false),
      extra: extraHeaders,
      body: bodyChoice,
    })
    .map(({ method, params: ps, query, auth, contentType, extra, body: b }) => {
      const path = op.rest.url.replace(/\{(\w+)\}/g, (_m, name: string) => {
        const p = ps[name]!;
        return p.raw ? p.value : percentEncode(p.value);
      });
      // Off the well-trodden path (another method, a raw segment) another route may answer: any contract error will do.
      // So may a path that is another route's, as an empty exportJobRid makes exportJobs.get's (`exportJobs/` is the list).
      const othersPath = OPERATIONS.some((o) => o !== op && o.rest.method === method && o.rest.url === path.replace(/\/$/, ''));
      const offRoute = method !== op.rest.method || Object.values(ps).some((p) => p.raw) || othersPath;
      const allowed = offRoute
        ? new Set(ANY_CONTRACT_ERROR)
        : new Set<ErrorName>([...TRANSPORT_ERRORS, ...REST_ONLY_ERRORS, ...(post ? POST_BODY_ERRORS : []), ...op.errors]);
      return printable({
        target: `REST ${op.rest.method} ${op.name}`,
        kind: 'rest',
        method,
        url: `${path}${query.query ? `?${query.query}` : ''}`,
        headers: headersOf(auth, contentType, extra),
        body: method === 'GET' || method === 'HEAD' ? undefined : b,
        allowed,
        op: offRoute ? undefined : op.name,
        writes: op.writes && !offRoute,
        batch: false,
        auth: offRoute ? 'unknown' : auth.expect,
        missingScope: op.scope,
        preview: offRoute ? undefined : query.preview,
      });
    });
}

/** The tRPC input of an operation: its path parameters and body fields in one object. */
function trpcInputArb(op: Operation): fc.Arbitrary<Json> {
  const params = fc.record(Object.fromEntries(Object.entries(paramPools(op)).map(([k, arb]) => [k, arb.map((p) => p.value)])));
  const body = bodyArb(op.name);
  if (!body) return params.map((p) => p as Json);
  return fc.tuple(params, body).map(([p, b]) => {
    const flat = typeof b === 'object' && b !== null && !Array.isArray(b) && 'request' in b ? (b.request as Record<string, Json>) : (b as Record<string, Json>);
    const renamed = 'source' in flat ? { exportJobSource: flat.source!, exportJobTarget: flat.target! } : flat;
    return { ...p, ...renamed } as Json;
  });
}

function adminInputArb(path: string): fc.Arbitrary<Json> {
  const w = world;
  const userId = fc.constantFrom<Json>(w.users.owner, w.users.other, randomUUID(), '', 'x'.repeat(129));
  const name = textField(['Report', 'Ünïcödé', '', 'x'.repeat(701)]);
  const content = fc.oneof(
    { weight: 4, arbitrary: fc.constant(SAMPLE_CONTENT as unknown as Json) },
    // Deep enough to overflow a recursive validator, shallow enough for JSON.stringify.
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 800 }).map((depth) => deepList(depth)) },
    { weight: 1, arbitrary: hostileValue },
  );
  const parameters = fc.constantFrom<Json>(markdownToTemplate(TEMPLATE_MARKDOWN).parameters as unknown as Json, [], [{ name: 'a', type: 'string', required: true }, { name: 'a', type: 'string', required: true }]);
  const resourceRid = fc.constantFrom<Json>(...w.docs, ...w.templates, ...w.folders, w.generationJobs[0]!);
  const action = fc.constantFrom<Json>('view', 'export', 'generate', 'create', 'admin');
  const arbs: Record<string, fc.Arbitrary<Record<string, Json>>> = {
    'admin.users.create': fc.record({ name, canCreateExportJobs: fc.boolean() }, { requiredKeys: ['name'] }),
    'admin.tokens.create': fc.record(
      { userId, scopes: fc.subarray<Json>([SCOPES.export, SCOPES.write, SCOPES.admin, 'root']), expiresInMs: fc.constantFrom<Json>(1000, 0, -1, 1.5, 2 ** 60) },
      { requiredKeys: ['userId', 'scopes'] },
    ),
    // Revoking persists for the rest of the batch: only a token no other case uses may be revoked.
    'admin.tokens.revoke': fc.record({ token: fc.constantFrom<Json>(w.tokens.revocable, 'np_unknown', '', 'x'.repeat(513)) }),
    'admin.documents.create': fc.record(
      { title: fc.oneof(name, fc.constant<Json>(w.takenName)), content, ownerId: userId, parentFolderRid: fc.constantFrom<Json>(...w.folders) },
      { requiredKeys: ['title', 'content', 'ownerId'] },
    ),
    'admin.folders.create': fc.record({ name, ownerId: userId }),
    'admin.templates.create': fc.record({ title: name, ownerId: userId, content, parameters }),
    'admin.templates.publish': fc.record({ templateRid: fc.constantFrom<Json>(...w.templates), content, parameters }),
    'admin.grants.create': fc.record({ userId, resourceRid, action }),
    'admin.grants.revoke': fc.record({ userId, resourceRid, action }),
  };
  return arbs[path]!.map((v) => v as Json);
}

/** A bullet list nested `depth` levels: content whose depth limit is 12. */
function deepList(depth: number): Json {
  let block: Json = { type: 'paragraph', content: [{ type: 'text', text: 'deep' }] };
  for (let i = 0; i < depth; i++) block = { type: 'bulletList', items: [{ content: [block] }] };
  return { blocks: [block] };
}

interface TrpcSpec {
  name: string;
  path: string;
  type: 'query' | 'mutation';
  scope: string;
  errors: readonly ErrorName[];
  op: OperationName | undefined;
  writes: boolean;
  input: () => fc.Arbitrary<Json>;
}

function trpcTarget(spec: TrpcSpec, partner: TrpcSpec): fc.Arbitrary<Req> {
  const { good, noScope } = tokensFor(spec.scope);
  const right: Method = spec.type === 'query' ? 'GET' : 'POST';
  return fc
    .record({
      method: methodArb(right),
      input: fc.tuple(spec.input(), BODY_WRAP).map(([valid, m]) => ({ value: applyMutation(valid, m.mutation), encoding: m.encoding })),
      batch: fc.constantFrom<'none' | 'one' | 'two'>('none', 'none', 'none', 'none', 'one', 'two'),
      auth: authArb(good, noScope),
      contentType: contentTypeArb(right === 'POST', true),
      extra: extraHeaders,
      unknownProcedure: fc.oneof(
        { weight: 24, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('notepad.nope', 'admin', 'notepad.exportJobs', '__proto__', 'notepad..exportJobs.get', 'constructor.prototype') },
      ),
    })
    .map(({ method, input, batch, auth, contentType, extra, unknownProcedure }) => {
      const paths = unknownProcedure ? [unknownProcedure] : batch === 'two' ? [spec.path, partner.path] : [spec.path];
      const isBatch = batch !== 'none';
      const wrapped: Json = isBatch ? Object.fromEntries(paths.map((_p, i) => [String(i), input.value])) : input.value;
      const body = { value: wrapped, encoding: input.encoding };
      let url = `/trpc/${paths.join(',')}`;
      const query: string[] = isBatch ? ['batch=1'] : [];
      let sendBody: Req['body'];
      if (method === 'GET' || method === 'HEAD') {
        const text = encode(body.value, body.encoding.kind === 'huge' ? { kind: 'json' } : body.encoding, hugeBytes);
        if (text !== undefined) query.push(`input=${percentEncode(text)}`);
      } else {
        sendBody = body;
      }
      if (query.length) url += `?${query.join('&')}`;
      const names = new Set<ErrorName>([...TRANSPORT_ERRORS, ...spec.errors, ...(batch === 'two' ? partner.errors : [])]);
      const offRoute = method !== right || unknownProcedure !== undefined || (batch === 'two' && partner.type !== spec.type);
      return printable({
        target: spec.name,
        kind: 'trpc',
        method,
        url,
        headers: headersOf(auth, contentType, extra),
        body: sendBody,
        allowed: names,
        op: offRoute || batch === 'two' ? undefined : spec.op,
        writes: spec.writes || (batch === 'two' && partner.writes),
        batch: isBatch,
        auth: offRoute || batch === 'two' ? 'unknown' : auth.expect,
        missingScope: spec.scope,
        preview: undefined,
      });
    });
}

const SEGMENTS = ['api', 'v2', 'notepad', 'exportJobs', 'create', 'files', 'content', 'templates', 'generate', 'generationJobs', 'saveDocument', 'trpc', 'health', 'v1', '..', '%2e%2e', '%00', '%ZZ', '', 'notepad.exportJobs.get', 'admin.users.create', '*', '~', 'x'.repeat(600)];

function randomPathTarget(): fc.Arbitrary<Req> {
  const segment = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: anyString.map(percentEncode) });
  return fc
    .record({
      method: fc.constantFrom(...WRONG_METHODS),
      segments: fc.array(segment, { minLength: 0, maxLength: 7 }),
      query: fc.option(anyString.map((q) => percentEncode(q).replace(/%3D/g, '=').replace(/%26/g, '&')), { nil: undefined }),
      auth: fc.constantFrom<AuthChoice>(
        { header: undefined, expect: 'unknown' },
        { header: `Bearer ${world.tokens.owner}`, expect: 'unknown' },
        { header: `Bearer ${world.tokens.admin}`, expect: 'unknown' },
      ),
      contentType: contentTypeArb(true, true),
      body: fc.option(fc.tuple(hostileValue, encoding).map(([value, enc]) => ({ value, encoding: enc })), { nil: undefined }),
    })
    .map(({ method, segments, query, auth, contentType, body }) => {
      const url = `/${segments.join('/')}${query !== undefined ? `?${query}` : ''}`;
      // inject resolves dot segments as a URL parser does; the server routes on what is left.
      const resolved = new URL(`http://localhost${url}`).pathname;
      return printable({
        target: 'random paths',
        kind: /^\/trpc(?:[/?]|$)/.test(resolved) ? 'trpc' : 'random',
        method,
        url,
        headers: headersOf(auth, contentType, {}),
        body: method === 'GET' || method === 'HEAD' ? undefined : body,
        allowed: new Set(ANY_CONTRACT_ERROR),
        op: undefined,
        writes: false,
        batch: url.includes('batch'),
        auth: 'unknown',
        missingScope: undefined,
        preview: undefined,
      });
    });
}

// ---------------------------------------------------------------------------------------
// Invariants.

const isJsonContentType = (value: unknown) => typeof value === 'string' && /^application\/json\b/i.test(value);

function parseJson(res: Res): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(res.body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/**
 * Errors that can precede the route's own checks: no route, a bad URL, a body too large or
 * not parseable at all. An InvalidArgument naming a `parameter` comes from the input schema,
 * which runs after auth, so it does not count.
 */
function isTransportError(name: ErrorName, parameters: Record<string, unknown>): boolean {
  if (['Default:NotFound', 'Default:RequestEntityTooLarge', 'Default:RequestTimeout', 'Default:RequestHeaderFieldsTooLarge'].includes(name)) return true;
  return name === 'Default:InvalidArgument' && !('parameter' in parameters);
}

/** What an error must be given auth and preview alone (the contract checks those first). */
function precedenceProblems(req: Req, body: Record<string, unknown>): string[] {
  const name = body.errorName as ErrorName;
  const parameters = body.parameters as Record<string, unknown>;
  if (req.auth === 'unknown') return [];
  if (req.auth !== 'ok') {
    if (!req.auth.includes(name) && !isTransportError(name, parameters)) return [`the credentials alone should fail with ${req.auth.join(' or ')}, got ${name}`];
    if (name === 'ApiUsageDenied' && parameters.missingScope !== req.missingScope) {
      return [`ApiUsageDenied names ${JSON.stringify(parameters)}, expected missingScope ${req.missingScope}`];
    }
    return [];
  }
  if (['MissingCredentials', 'InvalidCredentials', 'ApiUsageDenied'].includes(name)) return [`a valid token with the scope got ${name}`];
  // A token over its rate limit is refused right after authentication, before scope and preview.
  if (req.kind === 'rest' && req.preview === false && name !== 'ApiFeaturePreviewUsageOnly' && name !== 'Default:TooManyRequests' && !isTransportError(name, parameters)) {
    return [`without preview=true the answer must be ApiFeaturePreviewUsageOnly, got ${name}`];
  }
  if (req.kind === 'rest' && req.preview === 'repeated' && name !== 'Default:TooManyRequests' && !isTransportError(name, parameters)) {
    if (name !== 'Default:InvalidArgument' || parameters.parameter !== 'preview') return [`a repeated preview must be Default:InvalidArgument naming it, got ${name} ${JSON.stringify(parameters)}`];
  }
  if (req.kind === 'rest' && req.preview === true && name === 'ApiFeaturePreviewUsageOnly') return ['preview=true was sent but refused'];
  return [];
}

/** A success is only possible with good credentials and, over REST, preview=true. */
function successAllowedProblems(req: Req): string[] {
  if (Array.isArray(req.auth)) return [`succeeded although the credentials should fail with ${req.auth.join(' or ')}`];
  if (req.kind === 'rest' && req.preview !== true && req.preview !== undefined) return ['succeeded without preview=true'];
  return [];
}

function successProblems(req: Req, res: Res, data: unknown): string[] {
  const check = (ok: boolean, what: string) => (ok ? [] : [`200 body is not ${what}: ${res.body.toString('utf8').slice(0, 200)}`]);
  switch (req.op) {
    case 'exportJobs.create': {
      const parsed = ExportJob.safeParse(data);
      return check(parsed.success && parsed.data.status.type === 'running', 'a running ExportJob');
    }
    case 'exportJobs.get':
      return check(ExportJob.safeParse(data).success, 'an ExportJob');
    case 'exportJobs.cancel':
      return check(ExportJob.safeParse(data).success, 'an ExportJob');
    case 'exportJobs.list':
      return check(ListExportJobsResponse.safeParse(data).success, 'a ListExportJobsResponse');
    case 'exportJobs.events':
      return eventStreamProblems(res);
    case 'files.content':
      if (req.kind === 'trpc') return check(FileMetadata.safeParse(data).success, 'FileMetadata');
      return [
        ...check(res.headers['content-type'] === 'application/pdf', `application/pdf (${String(res.headers['content-type'])})`),
        ...check(Number(res.headers['content-length']) === res.body.length, 'as long as its Content-Length'),
        ...check(res.body.subarray(0, 5).toString('latin1') === '%PDF-', 'a PDF'),
      ];
    case 'templates.generate':
      return check(GenerationJobRid.safeParse(data).success, 'a bare GenerationJobRid string');
    case 'generationJobs.get':
      return check(GenerationJob.safeParse(data).success, 'a GenerationJob');
    case 'generationJobs.saveDocument':
      return check(SaveDocumentResponse.safeParse(data).success, 'a SaveDocumentResponse');
    default:
      return [];
  }
}

/** A 200 of exportJobs.events: an event stream whose every event is an ExportJob with a numeric id. */
function eventStreamProblems(res: Res): string[] {
  if (!String(res.headers['content-type']).startsWith('text/event-stream')) return [`events answered ${String(res.headers['content-type'])}`];
  const problems: string[] = [];
  for (const block of res.body.toString('utf8').split('\n\n').filter((b) => b.trim() && !b.startsWith(':'))) {
    const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
    let job: unknown;
    try {
      job = JSON.parse(fields.data ?? '');
    } catch {
      job = undefined;
    }
    if (!/^\d+$/.test(fields.id ?? '') || !['progress', 'succeeded', 'failed'].includes(fields.event ?? '') || !ExportJob.safeParse(job).success) {
      problems.push(`not an ExportJob event: ${block.slice(0, 200)}`);
    }
  }
  return problems;
}

function errorProblems(req: Req, body: unknown, status: number | undefined): string[] {
  const problems = foundryErrorProblems(body, status);
  if (problems.length > 0) return problems;
  const b = body as Record<string, unknown>;
  const name = b.errorName as ErrorName;
  if (ERRORS[name].errorCode !== 'FAILED_PRECONDITION' && (status ?? (b.httpStatus as number)) >= 500) return [`a ${name} 500: a server bug`];
  if (!req.allowed.has(name)) return [`${name} is not an error the contract allows for ${req.target}`];
  return precedenceProblems(req, b);
}

function restProblems(req: Req, res: Res): string[] {
  if (req.method === 'HEAD') {
    if (res.status === 200) return req.kind === 'random' ? [] : successAllowedProblems(req);
    return [400, 401, 403, 404, 409, 413].includes(res.status) ? [] : [`HEAD answered ${res.status}`];
  }
  if (res.status === 200) {
    if (req.kind !== 'random' && successAllowedProblems(req).length > 0) return successAllowedProblems(req);
    if ((req.op === 'files.content' || req.op === 'exportJobs.events') && req.kind === 'rest') return successProblems(req, res, undefined);
    const parsed = parseJson(res);
    if (!parsed.ok) return [`200 body is not JSON: ${res.body.toString('utf8').slice(0, 200)}`];
    if (req.kind === 'random') return [];
    return [...successProblems(req, res, parsed.value), ...(isJsonContentType(res.headers['content-type']) ? [] : ['200 without a JSON content type'])];
  }
  const parsed = parseJson(res);
  if (!parsed.ok) return [`error body is not JSON: ${res.body.toString('utf8').slice(0, 200)}`];
  return [...errorProblems(req, parsed.value, res.status), ...(isJsonContentType(res.headers['content-type']) ? [] : [`error with content type ${String(res.headers['content-type'])}`])];
}

/** tRPC answers in its envelope: {result: {data}} or {error: {code, message, data: FoundryError & {httpStatus}}}, an array for batches. */
function trpcProblems(req: Req, res: Res): string[] {
  // HEAD is tRPC's warm-up ping: 204 and no procedure runs; without valid credentials 401,
  // as every request to /trpc/... is refused before its body is read.
  if (req.method === 'HEAD') return res.status === 204 || [400, 401, 404].includes(res.status) ? [] : [`HEAD answered ${res.status}`];
  const parsed = parseJson(res);
  if (!parsed.ok) return [`tRPC body is not JSON (${res.status}): ${res.body.toString('utf8').slice(0, 200)}`];
  // Labelled as what it is, whatever media type the request claimed.
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return [`tRPC JSON answered as ${JSON.stringify(type)}`];
  const items = Array.isArray(parsed.value) && req.batch ? (parsed.value as unknown[]) : [parsed.value];
  const problems: string[] = [];
  const statuses = new Set<number>();
  for (const item of items) {
    if (typeof item !== 'object' || item === null) {
      problems.push(`tRPC response item is not an object: ${JSON.stringify(item)?.slice(0, 200)}`);
      continue;
    }
    const env_ = item as { result?: { data?: unknown }; error?: { code?: unknown; message?: unknown; data?: Record<string, unknown> } };
    if (env_.result) {
      statuses.add(200);
      problems.push(...successAllowedProblems(req));
      if (req.op) problems.push(...successProblems(req, res, env_.result.data));
    } else if (env_.error) {
      const { code, message, data } = env_.error;
      if (typeof code !== 'number' || typeof message !== 'string') problems.push(`tRPC error without a numeric code and message: ${JSON.stringify(env_.error).slice(0, 200)}`);
      problems.push(...errorProblems(req, data, undefined));
      if (typeof data?.httpStatus === 'number') statuses.add(data.httpStatus);
    } else {
      problems.push(`not a tRPC envelope: ${JSON.stringify(item).slice(0, 200)}`);
    }
  }
  const expected = statuses.size === 1 ? [...statuses][0] : 207;
  if (res.status !== expected) problems.push(`HTTP ${res.status} but the envelope says ${[...statuses].join(',')}`);
  return problems;
}

/** Whether any call succeeded: a 200, or a 207 batch with a result in it. */
function anySuccess(req: Req, res: Res): boolean {
  if (res.status === 200) return true;
  if (res.status !== 207 || req.kind !== 'trpc') return false;
  const parsed = parseJson(res);
  return parsed.ok && Array.isArray(parsed.value) && parsed.value.some((item: unknown) => typeof item === 'object' && item !== null && 'result' in item);
}

function databaseProblems(req: Req, res: Res, before: Snapshot, after: Snapshot): string[] {
  const diff = changes(before, after);
  if (diff.size === 0) return [];
  const shown = [...diff].map(([t, n]) => `${t} (${n >= 0 ? '+' : ''}${n} rows)`).join(', ');
  if (!anySuccess(req, res) || !req.writes) return [`HTTP ${res.status} changed the database: ${shown}`];
  const expected = req.op ? EXPECTED_ADDITIONS[req.op] : undefined;
  if (!expected) return [];
  const wanted = Object.entries(expected);
  const changed = [...diff.keys()].filter((table) => !DERIVED_TABLES.has(table));
  const same = changed.length === wanted.length && wanted.every(([t, n]) => diff.get(t) === n);
  return same ? [] : [`a 200 of ${req.op} should add ${JSON.stringify(expected)}, changed ${shown}`];
}

// ---------------------------------------------------------------------------------------
// Running cases, and the figures of the run.

/**
 * Bugs found by this suite in files it may not change, while they are open: each pinned by an
 * `it.fails` that turns red once it is fixed. A case they explain is counted, not failed, so
 * the fuzzer keeps looking for everything else. (Empty: the last one, admin.documents.create
 * answering 500 to a title already in the folder, is fixed; its test is in the "fixed" block.)
 */
const KNOWN_BUGS: Array<{ name: string; explains: (req: Req, res: Res) => boolean }> = [];
const knownBugHits = new Map<string, number>();

interface Stats {
  cases: number;
  statuses: Map<number, number>;
  errors: Map<string, number>;
  failed: boolean;
  ms: number;
}
const stats = new Map<string, Stats>();

function statsOf(target: string): Stats {
  let s = stats.get(target);
  if (!s) stats.set(target, (s = { cases: 0, statuses: new Map(), errors: new Map(), failed: false, ms: 0 }));
  return s;
}

const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

function errorNamesOf(res: Res): string[] {
  const parsed = parseJson(res);
  if (!parsed.ok) return [];
  const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
  return items.flatMap((item: unknown) => {
    const i = item as { errorName?: unknown; error?: { data?: { errorName?: unknown } } };
    const name = i?.errorName ?? i?.error?.data?.errorName;
    return typeof name === 'string' ? [name] : [];
  });
}

/** Every error at 500 or above a case was answered with: its errorInstanceId must be in the log. */
const serverErrors: Array<{ target: string; status: number; errorInstanceId: unknown }> = [];

/**
 * The errors at 500 or above in a response: the REST body, or each tRPC envelope item whose
 * data says httpStatus >= 500 (in a 207 batch too). A 500 whose body names none counts as one
 * without an id, which the log check then reports.
 */
function serverErrorsOf(target: string, res: Res): Array<{ target: string; status: number; errorInstanceId: unknown }> {
  const found: Array<{ target: string; status: number; errorInstanceId: unknown }> = [];
  const parsed = parseJson(res);
  const items: unknown[] = parsed.ok ? (Array.isArray(parsed.value) ? parsed.value : [parsed.value]) : [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const data = (item as { error?: { data?: Record<string, unknown> } }).error?.data;
    if (data && typeof data.httpStatus === 'number') {
      if (data.httpStatus >= 500) found.push({ target, status: data.httpStatus, errorInstanceId: data.errorInstanceId });
    } else if (res.status >= 500) {
      found.push({ target, status: res.status, errorInstanceId: (item as Record<string, unknown>).errorInstanceId });
    }
  }
  if (res.status >= 500 && found.length === 0) found.push({ target, status: res.status, errorInstanceId: undefined });
  return found;
}

/** The server errors answered so far whose errorInstanceId no error-level log line carries. */
function unloggedServerErrors() {
  return serverErrors.filter((e) => typeof e.errorInstanceId !== 'string' || !loggedErrorIds.has(e.errorInstanceId));
}

async function runCase(req: Req, send: Sender): Promise<void> {
  const c = await currentCopy(req.target);
  c.cases++;
  const leaksBefore = tokenLeaks;
  const linesBefore = leakedLines.length;
  // No transaction around the case: what it writes is committed by the service itself and
  // stays for the rest of the copy's batch. So the "before" is read here, not assumed.
  let passed = false;
  try {
    if (c.sqlite.inTransaction) throw new Error('a case must not start inside a transaction: the service commits its own writes');
    const before = snapshot(c);
    const res = await send(req, c);
    const after = snapshot(c);
    const problems = [
      ...(req.kind === 'trpc' ? trpcProblems(req, res) : restProblems(req, res)),
      ...databaseProblems(req, res, before, after),
      ...(c.sqlite.inTransaction ? ['the request left a transaction open'] : []),
    ];
    serverErrors.push(...serverErrorsOf(req.target, res));
    const health = await c.app.inject({ method: 'GET', url: '/health' });
    if (health.statusCode !== 200) problems.push(`/health answered ${health.statusCode} afterwards`);
    const s = statsOf(req.target);
    s.cases++;
    bump(s.statuses, res.status);
    for (const name of errorNamesOf(res)) bump(s.errors, name);
    const known = problems.length > 0 ? KNOWN_BUGS.find((bug) => bug.explains(req, res)) : undefined;
    if (known) bump(knownBugHits, known.name);
    else if (problems.length > 0) {
      const where = `(case ${c.cases} on copy ${c.n} of the seeded database, after ${c.cases - 1} earlier cases of this target on it, whose writes it keeps)`;
      throw new Error(`${problems.join('\n')}\n${describeReq(req)}\n  -> ${res.status} ${res.body.toString('utf8').slice(0, 400)}\n${where}`);
    }
    passed = true;
  } finally {
    if (!passed) c.spoiled = true;
    // The request log records each URL as sent: a token the client put there (tRPC GET input) is
    // the client's leak, reported apart; any other occurrence stays a failure.
    if (tokenLeaks > leaksBefore && secrets.some((secret) => req.url.includes(secret))) {
      urlTokenLines += tokenLeaks - leaksBefore;
      tokenLeaks = leaksBefore;
      leakedLines.length = linesBefore;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The targets, their share of the cases, and the properties.

const TRPC_SPECS: TrpcSpec[] = [
  // notepad.exportJobs.watch (a subscription) answers over tRPC's SSE transport, not in the
  // JSON envelope these properties read: test/export-jobs-watch.test.ts and the auth matrix
  // cover it; its REST twin, exportJobs.events, is fuzzed below.
  ...OPERATIONS.flatMap((op) => (op.trpc.type === 'subscription' ? [] : [{ ...op, trpc: { ...op.trpc, type: op.trpc.type } }])).map((op) => ({
    name: `tRPC ${op.trpc.path}`,
    path: op.trpc.path,
    type: op.trpc.type,
    scope: op.scope,
    errors: op.errors,
    op: op.name,
    writes: op.writes,
    input: () => trpcInputArb(op),
  })),
  ...ADMIN_PROCEDURES.map((p) => ({
    name: `tRPC ${p.path}`,
    path: p.path,
    type: 'mutation' as const,
    scope: SCOPES.admin,
    errors: p.errors,
    op: undefined,
    writes: p.writes,
    input: () => adminInputArb(p.path),
  })),
];

interface Target {
  name: string;
  weight: number;
  /** The errors the contract allows on the route's own method and path (the statuses follow). */
  allowed: readonly ErrorName[];
  build: () => fc.Arbitrary<Req>;
}


const TARGETS: Target[] = [
  ...OPERATIONS.map((op) => ({
    name: `REST ${op.rest.method} ${op.name}`,
    weight: 10,
    allowed: [...TRANSPORT_ERRORS, ...REST_ONLY_ERRORS, ...(op.rest.method === 'POST' ? POST_BODY_ERRORS : []), ...op.errors],
    build: () => restTarget(op),
  })),
  ...TRPC_SPECS.map((spec, i) => ({
    name: spec.name,
    weight: spec.path.startsWith('admin.') ? 3 : 6,
    allowed: [...TRANSPORT_ERRORS, ...spec.errors],
    build: () => trpcTarget(spec, TRPC_SPECS[(i + 1) % TRPC_SPECS.length]!),
  })),
  { name: 'random paths', weight: 10, allowed: ANY_CONTRACT_ERROR, build: randomPathTarget },
];

const runs = splitRuns(config.totalRuns, Object.fromEntries(TARGETS.map((t) => [t.name, t.weight])));
const started = Date.now();

// A stable name whatever the seed: the seed is in the summary and in any failure fast-check reports.
describe('fuzzing every route', () => {
  for (const [index, target] of TARGETS.entries()) {
    const numRuns = runs[target.name]!;
    // Generous: a case takes about a millisecond; shrinking a failure takes longer.
    const timeout = 60_000 + numRuns * 40;
    it(`${target.name}: ${numRuns} cases`, async () => {
      const t0 = performance.now();
      try {
        await fc.assert(
          fc.asyncProperty(target.build(), (req) => runCase(req, viaInject)),
          { numRuns, seed: config.seed + index, endOnFailure: false },
        );
        // Every case ran (and was counted in the table) exactly once.
        expect(statsOf(target.name).cases).toBe(numRuns);
      } catch (error) {
        statsOf(target.name).failed = true;
        throw error;
      } finally {
        statsOf(target.name).ms += performance.now() - t0;
      }
    }, timeout);
  }

  it('no seeded token was ever written to the log, and every 500 was logged under its errorInstanceId', async () => {
    expect(leakedLines).toEqual([]);
    expect(tokenLeaks).toBe(0);
    // One 500 known in advance, so the check never passes for want of any: saving the
    // running generation job is GenerationJobStatusRunning (FAILED_PRECONDITION, 500).
    const c = await currentCopy('log check');
    const probe = await c.app.inject({
      method: 'POST',
      url: `/api/v2/notepad/templates/${world.templates[0]!}/generationJobs/${world.generationJobs[1]!}/saveDocument?preview=true`,
      headers: { authorization: `Bearer ${world.tokens.owner}`, 'content-type': 'application/json' },
      payload: { parentFolderRid: world.folders[0]!, documentName: 'Log probe' },
    });
    expect(probe.statusCode).toBe(500);
    expect(probe.json()).toMatchObject({ errorName: 'GenerationJobStatusRunning', errorInstanceId: expect.any(String) });
    const probeErrors = serverErrorsOf('log check', { status: probe.statusCode, headers: probe.headers, body: probe.rawPayload });
    expect(probeErrors.map((e) => e.errorInstanceId)).toEqual([probe.json<{ errorInstanceId: string }>().errorInstanceId]);
    serverErrors.push(...probeErrors);
    // Each 500 response of every case, and every 500 item of a tRPC batch, matched by id.
    const fiveHundreds = [...stats.values()].reduce((sum, s) => sum + (s.statuses.get(500) ?? 0), 0);
    expect(serverErrors.filter((e) => e.target !== 'log check').length).toBeGreaterThanOrEqual(fiveHundreds);
    expect(unloggedServerErrors()).toEqual([]);
  });
});

describe('what the fuzzer found, fixed', () => {
  const send = async (method: string, url: string, headers: Record<string, string>, payload?: string) => {
    const { app } = await currentCopy('what the fuzzer found, fixed');
    const response = await app.inject({ method: method as never, url, headers, ...(payload !== undefined ? { payload } : {}) });
    const body = response.json<Record<string, unknown> & { error?: { data?: Record<string, unknown> } }>();
    return { status: response.statusCode, error: (body.error?.data ?? body) as Record<string, unknown>, envelope: 'error' in body };
  };
  const owner = () => ({ authorization: `Bearer ${world.tokens.owner}` });

  it.each([
    ['a malformed percent-encoding in a REST path', '/api/v2/notepad/exportJobs/%ZZ?preview=true'],
    ['a REST path parameter over 500 characters (was 414)', `/api/v2/notepad/exportJobs/${'x'.repeat(501)}?preview=true`],
  ])('%s is 400 Default:InvalidArgument in the contract shape', async (_what, url) => {
    const answer = await send('GET', url, owner());
    expect(answer).toMatchObject({ status: 400, envelope: false, error: { errorName: 'Default:InvalidArgument', errorCode: 'INVALID_ARGUMENT' } });
    expect(foundryErrorProblems(answer.error, 400)).toEqual([]);
  });

  it.each([
    ['a text/plain body (was 500 Default:Internal)', 'POST', { 'content-type': 'text/plain' }, '{"name":"x"}', 400, 'Default:InvalidArgument'],
    ['a body without a content type (was 415 in Fastify shape)', 'POST', {}, '{"name":"x"}', 400, 'Default:InvalidArgument'],
    ['an octet-stream body (was 415 in Fastify shape)', 'POST', { 'content-type': 'application/octet-stream' }, '{"name":"x"}', 400, 'Default:InvalidArgument'],
    ['PUT (was 500 Default:Internal)', 'PUT', {}, undefined, 400, 'Default:InvalidArgument'],
    ['a body over the limit (was 413 in Fastify shape)', 'POST', { 'content-type': 'application/json' }, 'HUGE', 413, 'Default:RequestEntityTooLarge'],
    ['a malformed percent-encoding in the path', 'GET', {}, undefined, 400, 'Default:InvalidArgument'],
  ] as const)('tRPC: %s is answered in tRPC envelope with the catalog error', async (what, method, headers, payload, status, errorName) => {
    const url = what.startsWith('a malformed') ? '/trpc/%ZZ' : '/trpc/admin.users.create';
    const body = payload === 'HUGE' ? `{"name":"${'x'.repeat(hugeBytes)}"}` : payload;
    const answer = await send(method, url, { authorization: `Bearer ${world.tokens.admin}`, ...headers }, body);
    expect(answer).toMatchObject({ status, envelope: true, error: { errorName, httpStatus: status } });
    expect(foundryErrorProblems(answer.error, status)).toEqual([]);
  });

  it('admin.documents.create with a title already in the folder is 409 ResourceNameAlreadyExists (was 500), and writes nothing', async () => {
    const c = await currentCopy('admin.documents.create 409');
    const before = snapshot(c);
    const response = await c.app.inject({
      method: 'POST',
      url: '/trpc/admin.documents.create',
      headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' },
      payload: { title: world.takenName, content: SAMPLE_CONTENT, ownerId: world.users.owner, parentFolderRid: world.folders[0] },
    });
    expect(response.json()).toMatchObject({ error: { data: { errorName: 'ResourceNameAlreadyExists', httpStatus: 409 } } });
    expect(changes(before, snapshot(c))).toEqual(new Map());
  });
});

describe('transport variants over real HTTP', () => {
  // What inject cannot show: a real multipart stream, Node's own parsing of the request line.
  it('every method × content type on REST and tRPC routes keeps the invariants', async () => {
    // Each copy's app listens on its own port, from its first case on.
    const listening = async (c: Copy): Promise<string> => {
      if (c.baseUrl === undefined) {
        await c.app.listen({ host: '127.0.0.1', port: 0 });
        const address = c.app.server.address();
        if (typeof address !== 'object' || !address) throw new Error('no address');
        c.baseUrl = `http://127.0.0.1:${address.port}`;
      }
      return c.baseUrl;
    };
    const viaHttp: Sender = async (req, c) => {
      const base = await listening(c);
      const payload = payloadOf(req);
      const multipart = req.headers['content-type']?.startsWith('multipart/');
      const headers = { ...req.headers };
      let body: string | FormData | undefined = payload;
      if (multipart && payload !== undefined) {
        // fetch writes the boundary itself.
        delete headers['content-type'];
        body = new FormData();
        body.set('input', payload);
      }
      const response = await fetch(base + req.url, { method: req.method, headers, ...(body !== undefined ? { body } : {}) });
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers.entries()),
        body: Buffer.from(await response.arrayBuffer()),
      };
    };
    const t = world.tokens;
    const create = { exportJobSource: { type: 'documentSource', documentRid: world.docs[0]! }, exportJobTarget: { type: 'pdf', userLocale: 'en', userTimezone: 'Etc/UTC' } };
    const routes: Array<{ op: Operation | undefined; url: string; token: string; trpc: boolean; value: Json; right: string }> = [
      { op: OPERATIONS[0], url: '/api/v2/notepad/exportJobs/create?preview=true', token: t.owner, trpc: false, value: create, right: 'POST' },
      { op: OPERATIONS[1], url: `/api/v2/notepad/exportJobs/${world.exportJobs[0]!}?preview=true`, token: t.owner, trpc: false, value: {}, right: 'GET' },
      { op: OPERATIONS[0], url: '/trpc/notepad.exportJobs.create', token: t.owner, trpc: true, value: create, right: 'POST' },
      { op: OPERATIONS[1], url: `/trpc/notepad.exportJobs.get?input=${percentEncode(JSON.stringify({ exportJobRid: world.exportJobs[0]! }))}`, token: t.owner, trpc: true, value: {}, right: 'GET' },
      { op: undefined, url: '/trpc/admin.users.create', token: t.admin, trpc: true, value: { name: 'x' }, right: 'POST' },
      { op: undefined, url: '/api/v2/notepad/%ZZ?preview=true', token: t.owner, trpc: false, value: {}, right: 'GET' },
      { op: undefined, url: '/trpc/%ZZ', token: t.owner, trpc: true, value: {}, right: 'GET' },
    ];
    const contentTypes = [undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/octet-stream'];
    let cases = 0;
    const t0 = performance.now();
    for (const route of routes) {
      for (const method of WRONG_METHODS) {
        for (const contentType of contentTypes) {
          const hasBody = method !== 'GET' && method !== 'HEAD';
          const onRoute = route.op !== undefined && method === route.right;
          const req = printable({
            target: 'real HTTP transport table',
            kind: route.trpc ? 'trpc' : 'rest',
            method,
            url: route.url,
            headers: headersOf({ header: `Bearer ${route.token}`, expect: 'ok' }, contentType, {}),
            body: hasBody ? { value: route.value, encoding: { kind: 'json' } } : undefined,
            allowed: new Set(ANY_CONTRACT_ERROR),
            op: onRoute && contentType === 'application/json' ? route.op!.name : undefined,
            writes: route.op?.writes ?? route.url.includes('admin'),
            batch: false,
            auth: 'unknown',
            missingScope: undefined,
            preview: undefined,
          });
          await runCase(req, viaHttp);
          cases++;
        }
      }
    }
    statsOf('real HTTP transport table').ms += performance.now() - t0;
    expect(cases).toBe(routes.length * WRONG_METHODS.length * contentTypes.length);
    expect(statsOf('real HTTP transport table').cases).toBe(cases);
    // Its 500s, if any, were logged under their errorInstanceId too.
    expect(unloggedServerErrors()).toEqual([]);
  }, 60_000);
});

/** Every test of a file or suite, at any depth. */
const testsOf = (task: RunnerTask): RunnerTask[] => ('tasks' in task ? task.tasks.flatMap(testsOf) : [task]);

// Runs after every test of the file (vitest runs after-hooks last-registered first, and only
// once all tests are done), so the summary can say what actually passed.
afterAll(async ({}, file) => {
  const seconds = (Date.now() - started) / 1000;
  const rows = [...stats.entries()];
  const total = rows.reduce((sum, [, s]) => sum + s.cases, 0);
  const statusText = (s: Stats) => [...s.statuses].sort(([a], [b]) => a - b).map(([code, n]) => `${code}×${n}`).join(' ');
  const allStatuses = new Map<number, number>();
  const allErrors = new Map<string, number>();
  for (const [, s] of rows) {
    for (const [code, n] of s.statuses) allStatuses.set(code, (allStatuses.get(code) ?? 0) + n);
    for (const [name, n] of s.errors) allErrors.set(name, (allErrors.get(name) ?? 0) + n);
  }
  // Every check of this file: each target's property, the log check, the regression tests and
  // the real-HTTP table. "Held" is said only when each of them ran and passed.
  const tests = testsOf(file);
  const notPassed = tests.filter((t) => t.result?.state !== 'pass').map((t) => `${t.name} (${t.result?.state ?? 'did not run'})`);
  const topErrors = (s: Stats) => [...s.errors].sort(([, a], [, b]) => b - a).slice(0, 4).map(([name, n]) => `${name}×${n}`).join(' ');
  const allowedOf = (name: string) => {
    const t = TARGETS.find((x) => x.name === name);
    return [...statusesOf(t?.allowed ?? ANY_CONTRACT_ERROR)].sort((a, b) => a - b).join(' ');
  };
  const table = [
    '| target | cases | allowed statuses | statuses seen (observed) | most frequent errors (observed) | ms (observed) |',
    '|---|---:|---|---|---|---:|',
    ...rows.map(([name, s]) => `| ${name}${s.failed ? ' **FAILED**' : ''} | ${s.cases} | ${allowedOf(name)} | ${statusText(s)} | ${topErrors(s)} | ${Math.round(s.ms)} |`),
  ].join('\n');
  const summary = [
    `${total} cases in ${seconds.toFixed(1)} s (observed), on ${copiesOpened} copies of the seeded database (FUZZ_RUNS=${config.totalRuns}, seed ${config.seed}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}).`,
    notPassed.length === 0
      ? `Every invariant held in every case: all ${tests.length} tests of test/fuzz.test.ts passed, each target ran exactly its share of the cases.`
      : `**Not every invariant held** (${notPassed.length} of ${tests.length} tests did not pass): ${notPassed.join(', ')}.`,
    `Server errors (500) answered: ${serverErrors.length} (observed; one of them a probe), each matched by its errorInstanceId to an error-level log line (asserted; unmatched now: ${unloggedServerErrors().length}).`,
    `Statuses over all cases (observed; each one checked to be allowed for its route): ${[...allStatuses].sort(([a], [b]) => a - b).map(([c, n]) => `${c}×${n}`).join(', ')}.`,
    `Error names seen (observed): ${[...allErrors].sort(([, a], [, b]) => b - a).map(([name, n]) => `${name}×${n}`).join(', ')}.`,
    `Known bugs hit (counted, not failed; observed): ${knownBugHits.size === 0 ? 'none' : [...knownBugHits].map(([name, n]) => `${name} ×${n}`).join('; ')}.`,
    `Seeded tokens found in the log: ${tokenLeaks} (plus ${urlTokenLines}, observed, request-log lines of URLs into which the client itself put a token).`,
  ].join('\n\n');
  // The whole summary when it is being recorded or something failed; otherwise one line, so
  // `npm test` output stays readable (the figures are in test/RELIABILITY.md).
  const recording = process.env.RELIABILITY_RECORD === '1';
  if (recording || notPassed.length > 0) console.log(`\nfuzz: ${summary}\n\n${table}\n`);
  else console.log(`fuzz: ${total} cases, every invariant held (the full summary: RELIABILITY_RECORD=1 or npm run fuzz).`);
  // Only a run whose every check passed is recorded: its figures are the ones those checks
  // asserted, or are marked observed. Writes only under RELIABILITY_RECORD=1 (`npm run fuzz`),
  // so `npm test` leaves the tree clean.
  if (notPassed.length > 0) {
    console.log('fuzz: not every test passed, so test/RELIABILITY.md is left as it was.');
    return;
  }
  await recordReliability('fuzz', [
    'Regenerated by `npm run fuzz` (test/fuzz.test.ts, FUZZ_RUNS=50000); replay a run with FUZZ_SEED=<seed>.',
    'Each case is a generated or mutated request sent with `app.inject`, with no transaction around it: every batch of',
    `${CASES_PER_COPY} cases of a target runs on its own copy of the seeded database file with its own app, so writes go through the`,
    "service's own group commit, and a case's writes stay for the rest of its batch. Checked in every case: the status is one the",
    'contract allows for the route (500 only for FAILED_PRECONDITION); every error body has the contract\'s shape with a catalog',
    'errorName and its errorCode; auth, then scope, then preview are checked first; an error changes no row of any table (row',
    'counts and a sha256 of every row, read before and after the case), a 200 adds exactly what it created; /health answers',
    'afterwards; every 500 is logged under its errorInstanceId. tRPC also answers 207 to a batch whose calls end differently and',
    '204 to HEAD (its warm-up ping, which runs no procedure). A real-HTTP table adds every method × content type, real multipart',
    'included. Figures not asserted by the test are marked observed.',
    '',
    summary,
    '',
    table,
  ]);
});
