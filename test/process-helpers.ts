import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { pathToFileURL } from 'node:url';
import { openDatabase, type Db } from '../db/index.js';
import { createDeps, type Deps } from '../server/deps.js';
import { createSqliteStores } from '../server/stores/sqlite/index.js';
import * as admin from '../server/services/admin.js';

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
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          logs.push(record);
          const match = typeof record.msg === 'string' ? /^Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(record.msg) : null;
          if (match) resolveReady(match[1]!);
          if (record.msg === 'notepad-export started' && record.role === 'runner') resolveReady('');
        } catch {
          // not a log line
        }
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
    const { userId } = await admin.createUser(seed.deps, { name: opts.name });
    const { token } = await admin.createToken(seed.deps, { userId, scopes: ['api:notepad-export'] });
    const { documentRid } = await admin.createDocument(seed.deps, {
      title: opts.title,
      content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: opts.text }] }] },
      ownerId: userId,
    });
    return { userId, token, documentRid };
  } finally {
    seed.close();
  }
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
