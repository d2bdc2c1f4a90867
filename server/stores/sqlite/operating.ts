/**
 * What operators read, on SQLite: a trivial query, the migrations Drizzle's migrator
 * recorded against this build's folder, the queue's depth, the file and WAL sizes.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { z } from 'zod';
import { MIGRATIONS_FOLDER, type Db } from '../../../db/index.js';
import type { OperatingStore, QueueDepth } from '../operating.js';

const Journal = z.object({ entries: z.array(z.object({ tag: z.string() })) });
/** Drizzle's record of the migrations it applied (the table its migrator keeps). */
const APPLIED = sql`select hash from __drizzle_migrations`;

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

export function createSqliteOperatingStore(db: Db): OperatingStore {
  const sqlite = db.$client;
  const ping = sqlite.prepare('select 1');
  // Counted over the claim indexes (only unfinished jobs), so a scrape or a summary line
  // costs little however many finished jobs the tables hold.
  const count = (table: 'export_jobs' | 'generation_jobs') => {
    const statement = sqlite.prepare<{ now: number }, QueueDepth>(
      `select count(*) filter (where lease_expires_at is null or lease_expires_at < @now) as waiting,
              count(*) filter (where lease_expires_at >= @now) as running
         from ${table} where status = 'running'`,
    );
    // An aggregate always answers one row.
    return (now: number): QueueDepth => statement.get({ now })!;
  };
  const exportDepth = count('export_jobs');
  const generationDepth = count('generation_jobs');

  return {
    async ping() {
      ping.get();
    },
    async migrationProblems(folder = MIGRATIONS_FOLDER) {
      const migrations = readMigrationFiles({ migrationsFolder: folder });
      const tags = Journal.parse(JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'))).entries.map((e) => e.tag);
      const applied = new Set(db.all<{ hash: string }>(APPLIED).map((row) => row.hash));
      const known = new Set(migrations.map((m) => m.hash));
      const pending = migrations.flatMap((m, i) => (applied.has(m.hash) ? [] : [tags[i] ?? String(m.folderMillis)]));
      const unknown = [...applied].filter((hash) => !known.has(hash)).length;
      const problems = [
        pending.length ? `not applied (or changed since they were applied): ${pending.join(', ')}` : '',
        unknown ? `${unknown} applied migration(s) this build's migrations folder does not have (a newer build migrated the database?)` : '',
      ].filter(Boolean);
      return problems.length ? problems.join('; ') : undefined;
    },
    async queueDepth(now) {
      return { export: exportDepth(now), generation: generationDepth(now) };
    },
    async sizes() {
      if (sqlite.memory) return { databaseBytes: 0, walBytes: 0 };
      return { databaseBytes: fileSize(sqlite.name), walBytes: fileSize(`${sqlite.name}-wal`) };
    },
  };
}
