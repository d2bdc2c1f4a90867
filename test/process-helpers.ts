import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { pathToFileURL } from 'node:url';
import { openDatabase, type Db } from '../db/index.js';
import { openPostgres } from '../db/pg/index.js';
import { createS3FileStore } from '../server/files/s3-store.js';
import { createFileStore, type FileStore } from '../server/files/store.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import * as admin from '../server/services/admin.js';
import { freshBucket, freshPostgresDatabase, testBackends, testS3Client } from './backends.js';
import { TEST_BACKEND } from './helpers.js';
import { pgRows, sqliteRows, type TestRows } from './rows.js';

// node itself, with tsx as a loader: the tsx CLI would put a parent process in between, and a
// SIGKILL to that parent leaves the real server running.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const MAIN = resolve(import.meta.dirname, '../server/main.ts');

export interface ServerProcess {
  proc: ChildProcess;
  /** Set once the server listens (role all/api). */
  baseUrl: string;
  /** Every stdout line that parsed as a JSON log record. */
  logs: Array<Record<string, unknown>>;
  /** What it wrote to stderr so far (a crash's stack). */
  stderr(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `server/main.ts` as a real child process and waits until it listens (or, as a runner, has started). */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', tsxLoader, MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => proc.on('exit', (code) => resolveExit(code)));
  const ready = new Promise<string>((resolveReady, reject) => {
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        logs.push(record);
        const match = typeof record.msg === 'string' ? /^Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(record.msg) : null;
        if (match) resolveReady(match[1]!);
        if (record.msg === 'notepad-export started' && record.role === 'runner') resolveReady('');
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before it was ready: ${stderr}`)));
    setTimeout(() => reject(new Error(`server not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs).unref();
  });
  const baseUrl = await ready;
  return {
    proc,
    baseUrl,
    logs,
    stderr: () => stderr,
    exited,
    kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Opens the database file as the service would, for seeding and inspection from the test process. */
export function openForSeeding(dbPath: string): { deps: Deps; close(): void; db: Db; sqlite: ReturnType<typeof openDatabase>['sqlite'] } {
  const database = openDatabase(dbPath);
  return { deps: createDeps({ stores: createSqliteStores(database.db) }), close: () => database.close(), db: database.db, sqlite: database.sqlite };
}

/** A user with an export token and one one-paragraph document, written to the database file before a server starts. */
export async function seedExporter(dbPath: string, opts: { name: string; title: string; text: string }): Promise<{ userId: string; token: string; documentRid: string }> {
  const seed = openForSeeding(dbPath);
  try {
    return await seedExporterWith(seed.deps, opts);
  } finally {
    seed.close();
  }
}

async function seedExporterWith(deps: Deps, opts: { name: string; title: string; text: string }): Promise<{ userId: string; token: string; documentRid: string }> {
  const { userId } = await admin.createUser(deps, { name: opts.name });
  const { token } = await admin.createToken(deps, { userId, scopes: ['api:notepad-export'] });
  const { documentRid } = await admin.createDocument(deps, {
    title: opts.title,
    content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: opts.text }] }] },
    ownerId: userId,
  });
  return { userId, token, documentRid };
}

export async function postJson(url: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A temporary database and file store for server processes; every process started with
 * `start` is killed, and the folder removed, after the file's tests.
 */
export function serverWorkspace(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const workspace = {
    dbPath: join(dir, 'notepad.db'),
    filesDir: join(dir, 'files'),
    servers: [] as ServerProcess[],
    async start(env: Record<string, string>): Promise<ServerProcess> {
      const server = await startServerProcess({ NOTEPAD_DB: workspace.dbPath, NOTEPAD_FILES: workspace.filesDir, ...env });
      workspace.servers.push(server);
      return server;
    },
  };
  afterAll(async () => {
    for (const server of workspace.servers) await server.kill();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  return workspace;
}

export interface OpenedWorkspace {
  deps: Deps;
  rows: TestRows;
  /** The workspace's file store, as the servers see it. */
  files: FileStore;
  close(): Promise<void>;
}

/**
 * A database and file store for server processes on the test backend (NOTEPAD_TEST_BACKEND):
 * a SQLite file and a directory, or a fresh PostgreSQL database and S3 bucket on the test
 * servers. `start` spawns server/main.ts on them (with the AWS variables on S3), `open` opens
 * them from the test process to seed and inspect. Every server is killed, and everything
 * removed, after the file's tests.
 */
export function backendWorkspace(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
  let bucket: string | undefined;
  const servers: ServerProcess[] = [];
  const dbPath = join(dir, 'notepad.db');
  const filesDir = join(dir, 'files');
  beforeAll(async () => {
    if (TEST_BACKEND !== 'postgres') return;
    database = await freshPostgresDatabase();
    bucket = await freshBucket();
  });
  afterAll(async () => {
    for (const server of servers) await server.kill();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  const s3Config = () => {
    const { endpoint, region, accessKeyId, secretAccessKey } = testBackends().s3;
    return { kind: 's3' as const, bucket: bucket!, prefix: 'pdfs/', region, endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } };
  };
  /** The environment a server process needs for this workspace's database and files. */
  const serverEnv = (): Record<string, string> => {
    if (TEST_BACKEND !== 'postgres') return { NOTEPAD_DB: dbPath, NOTEPAD_FILES: filesDir };
    const s3 = s3Config();
    return {
      NOTEPAD_DB: database!.url,
      NOTEPAD_FILES: `s3://${s3.bucket}/${s3.prefix}`,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      NOTEPAD_S3_FORCE_PATH_STYLE: 'true',
    };
  };
  return {
    backend: TEST_BACKEND,
    servers,
    async start(env: Record<string, string>): Promise<ServerProcess> {
      const server = await startServerProcess({ ...serverEnv(), ...env }, 60_000);
      servers.push(server);
      return server;
    },
    async open(): Promise<OpenedWorkspace> {
      if (TEST_BACKEND !== 'postgres') {
        const opened = openDatabase(dbPath);
        const files = await createFileStore(filesDir);
        return { deps: createDeps({ stores: createSqliteStores(opened.db) }), rows: sqliteRows(opened.db), files, close: async () => opened.close() };
      }
      const backend = await openPgBackend(database!.url, { pool: 2 });
      const rowsDb = await openPostgres(database!.url, { poolSize: 1 });
      const client = testS3Client();
      return {
        deps: createDeps({ stores: backend.stores }),
        rows: pgRows(rowsDb.db),
        files: createS3FileStore(s3Config(), client),
        async close() {
          client.destroy();
          await rowsDb.close();
          await backend.close();
        },
      };
    },
    /** A user with an export token and one one-paragraph document, written before a server starts. */
    async seedExporter(opts: { name: string; title: string; text: string }): Promise<{ userId: string; token: string; documentRid: string }> {
      const seed = await this.open();
      try {
        return await seedExporterWith(seed.deps, opts);
      } finally {
        await seed.close();
      }
    },
    /** SQLite's own checks of the file (integrity_check), for the tests that end with them. */
    sqlitePath: dbPath,
  };
}
