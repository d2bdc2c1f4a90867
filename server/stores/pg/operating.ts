/**
 * What operators read, on PostgreSQL: a trivial query, the migrations drizzle's migrator
 * recorded (drizzle.__drizzle_migrations) against this build's migrations-pg/, the queue's
 * depth, the database's size.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { z } from 'zod';
import { PG_MIGRATIONS_FOLDER, type PgDb } from '../../../db/pg/index.js';
import type { OperatingStore, QueueDepth } from '../operating.js';

const Journal = z.object({ entries: z.array(z.object({ tag: z.string() })) });

export function createPgOperatingStore(db: PgDb): OperatingStore {
  // Counted over the claim indexes' rows only (unfinished jobs); count(*) is int8, read as text.
  const depth = async (table: 'export_jobs' | 'generation_jobs', now: number): Promise<QueueDepth> => {
    const { rows } = await db.execute<{ waiting: string; running: string }>(
      sql`select count(*) filter (where lease_expires_at is null or lease_expires_at < ${now}::bigint) as waiting,
                 count(*) filter (where lease_expires_at >= ${now}::bigint) as running
            from ${sql.identifier(table)} where status = 'running'`,
    );
    return { waiting: Number(rows[0]?.waiting ?? 0), running: Number(rows[0]?.running ?? 0) };
  };

  return {
    async ping() {
      await db.execute(sql`select 1`);
    },
    async migrationProblems(folder = PG_MIGRATIONS_FOLDER) {
      const migrations = readMigrationFiles({ migrationsFolder: folder });
      const tags = Journal.parse(JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'))).entries.map((e) => e.tag);
      // drizzle's node-postgres migrator keeps its record in the "drizzle" schema.
      const { rows } = await db.execute<{ hash: string }>(sql`select hash from drizzle.__drizzle_migrations`);
      const applied = new Set(rows.map((row) => row.hash));
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
      return { export: await depth('export_jobs', now), generation: await depth('generation_jobs', now) };
    },
    async sizes() {
      // The WAL is the cluster's, shared with other databases: not this database's to report (0).
      const { rows } = await db.execute<{ bytes: string }>(sql`select pg_database_size(current_database()) as bytes`);
      return { databaseBytes: Number(rows[0]?.bytes ?? 0), walBytes: 0 };
    },
  };
}
