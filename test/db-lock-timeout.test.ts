/**
 * NOTEPAD_DB_LOCK_TIMEOUT_MS reaches the database as configured: a statement that needs a lock
 * another connection holds fails after that long (SQLite's busy_timeout, PostgreSQL's
 * lock_timeout), through the path a process opens its backend by (configFromEnv, openBackend).
 * That such a failure answers the contract's 500 is test/faults.test.ts's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../server/config.js';
import type { Backend } from '../server/stores/index.js';
import { openBackend } from '../server/stores/open.js';
import { freshPostgresDatabase } from './backends.js';

/** Well under the 5 s default: a failure sooner than this came from the configured timeout. */
const CONFIGURED_MS = 200;
const attempt = { rid: 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000', owner: 'r', attempt: 1 };
const failure = { errorCode: 'INTERNAL' as const, message: 'x', errorInstanceId: 'i' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** How long `operation` took to fail, and with what. */
async function failureOf(operation: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now();
  try {
    await operation();
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
  throw new Error('the operation did not fail');
}

describe('NOTEPAD_DB_LOCK_TIMEOUT_MS', () => {
  it('SQLite: a write waits for another connection\'s write lock that long, then fails SQLITE_BUSY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notepad-lock-'));
    const path = join(dir, 'notepad.db');
    const backend: Backend = await openBackend(configFromEnv({ NOTEPAD_DB: path, NOTEPAD_DB_LOCK_TIMEOUT_MS: String(CONFIGURED_MS) }).database);
    cleanups.push(async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const other = new Database(path);
    other.exec('begin immediate');
    cleanups.push(async () => {
      other.exec('rollback');
      other.close();
    });
    const { ms, error } = await failureOf(() => backend.stores.jobs.failExport(attempt, 1, failure));
    expect((error as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(ms).toBeGreaterThanOrEqual(CONFIGURED_MS - 20);
    expect(ms).toBeLessThan(3_000);
  });

  it('PostgreSQL: a statement waits for another session\'s table lock that long, then fails lock_not_available', async () => {
    const fresh = await freshPostgresDatabase();
    cleanups.push(() => fresh.drop());
    const backend: Backend = await openBackend(configFromEnv({ NOTEPAD_DB: fresh.url, NOTEPAD_DB_POOL: '2', NOTEPAD_DB_LOCK_TIMEOUT_MS: String(CONFIGURED_MS) }).database);
    cleanups.push(() => backend.close());
    const other = new pg.Client({ connectionString: fresh.url });
    await other.connect();
    cleanups.push(() => other.end());
    await other.query('begin');
    await other.query('lock table export_jobs in access exclusive mode');
    const { ms, error } = await failureOf(() => backend.stores.jobs.exportAttemptState(attempt.rid));
    let cause: unknown = error;
    while (cause && typeof cause === 'object' && !('code' in cause) && 'cause' in cause) cause = (cause as { cause: unknown }).cause;
    expect((cause as { code?: string }).code).toBe('55P03');
    expect(ms).toBeGreaterThanOrEqual(CONFIGURED_MS - 20);
    expect(ms).toBeLessThan(3_000);
    await other.query('rollback');
  });
});
