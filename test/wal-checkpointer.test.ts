import { copyFileSync, readFileSync } from 'node:fs';
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

  it('checkpoints a WAL that stays short less and less often, so commits seldom have to start the WAL over', async () => {
    const sqlite = env.database.sqlite;
    sqlite.exec('create table scratch (n integer)');
    const insert = sqlite.prepare('insert into scratch (n) values (?)');
    checkpointer = startWalCheckpointer({ sqlite, log: env.logger, intervalMs: 20 });
    // Each time a commit starts the WAL over (after a round copied all of it), SQLite fsyncs
    // the new header inside that commit; the header's first salt changes each time.
    const salt = () => readFileSync(`${sqlite.name}-wal`).readUInt32BE(16);
    await checkpointer.nextCheckpoint();
    const salts = new Set<number>();
    const end = performance.now() + 1_000;
    for (let n = 0; performance.now() < end; n++) {
      insert.run(n);
      salts.add(salt());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Rounds every 20 ms would start the WAL over up to fifty times in that second; backing
    // off (40, 80, 160, 320, 640 ms), at most five.
    expect(salts.size).toBeLessThanOrEqual(6);
    // Someone waiting still gets a round at the next base tick, and it copies the whole WAL.
    const result = await checkpointer.nextCheckpoint();
    expect(result.checkpointedFrames).toBe(result.walFrames);
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
