import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { authenticate } from '../server/services/auth.js';
import { startWalCheckpointer, type CheckpointResult, type WalCheckpointer } from '../server/threads/wal-checkpointer.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';

const autocheckpoint = (env: SqliteTestEnv) => env.database.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;

describe('background WAL checkpointer', () => {
  let env: SqliteTestEnv;
  let checkpointer: WalCheckpointer | undefined;

  beforeEach(async () => {
    env = await createSqliteTestEnv();
  });
  afterEach(async () => {
    await checkpointer?.stop();
    env.cleanup();
  });

  it('copies the WAL into the database file from its own thread while the API connection only keeps a fallback', async () => {
    expect(autocheckpoint(env)).toBe(1000);
    checkpointer = startWalCheckpointer({ sqlite: env.database.sqlite, log: env.logger, intervalMs: 20 });
    expect(autocheckpoint(env)).toBe(20_000);

    const { userId, token } = await seedUser(env.deps);
    const documentRid = await seedDocument(env.deps, userId);
    const principal = await authenticate(env.deps, `Bearer ${token}`);
    await checkpointer.nextCheckpoint();
    for (let i = 0; i < 300; i++) {
      await createExportJob(env.deps, principal, {
        exportJobSource: { type: 'documentSource', documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Europe/Paris' },
      });
    }

    // Writes went to the WAL; the next round to start copies every frame of it (retried
    // only if another connection held a lock it needed).
    let result: CheckpointResult;
    do result = await checkpointer.nextCheckpoint();
    while (result.busy);
    expect(result.walFrames).toBeGreaterThan(0);
    expect(result.checkpointedFrames).toBe(result.walFrames);

    // A copy of the database file alone, without its WAL, holds every row.
    const copy = join(env.dir, 'file-only.db');
    copyFileSync(env.database.sqlite.name, copy);
    const fileOnly = new Database(copy, { readonly: true });
    try {
      expect(fileOnly.prepare('select count(*) as n from export_jobs').get()).toEqual({ n: 300 });
    } finally {
      fileOnly.close();
    }

    // The handler is attached before stop() rejects it, so the rejection is never unhandled.
    const pending = expect(checkpointer.nextCheckpoint()).rejects.toThrow(/stopped/);
    await checkpointer.stop();
    await checkpointer.stop(); // idempotent
    await pending;
    await expect(checkpointer.nextCheckpoint()).rejects.toThrow(/stopped/);
    expect(autocheckpoint(env)).toBe(1000);
  });

  it('does nothing for an in-memory database', async () => {
    const memory = openDatabase(':memory:');
    try {
      const idle = startWalCheckpointer({ sqlite: memory.sqlite, log: env.logger });
      expect(memory.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      await expect(idle.nextCheckpoint()).rejects.toThrow(/in-memory/);
      await idle.stop();
    } finally {
      memory.close();
    }
  });
});
