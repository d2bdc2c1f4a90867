/**
 * GET /ready: whether this process can serve its work now, check by check, for a load
 * balancer or an orchestrator (GET /health stays the liveness probe: the process is alive).
 * Ready when the database answers, its migrations are exactly this build's (those in the
 * migrations folder, no fewer and no more: another build may have migrated a shared
 * database), the file store takes a write (FileStore.probe: written and removed), and neither
 * store is short of space (storage-health.ts). Otherwise 503, naming each failing check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { z } from 'zod';
import { MIGRATIONS_FOLDER } from '../../db/index.js';
import type { Deps } from '../deps.js';
import type { FileStore } from '../files/store.js';

export const READY_URL = '/ready';

export type CheckName = 'database' | 'migrations' | 'files' | 'freeSpace';

export type CheckResult = { ok: true } | { ok: false; reason: string };

export interface Readiness {
  ready: boolean;
  checks: Record<CheckName, CheckResult>;
}

export interface ReadinessOptions {
  deps: Pick<Deps, 'db' | 'storage'>;
  files: Pick<FileStore, 'probe'>;
  /** Default: this build's (db/index.ts). */
  migrationsFolder?: string;
}

const PASS: CheckResult = { ok: true };
const fail = (reason: string): CheckResult => ({ ok: false, reason });
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const Journal = z.object({ entries: z.array(z.object({ tag: z.string() })) });
/** Drizzle's record of the migrations it applied (the table its migrator keeps). */
const APPLIED = sql`select hash from __drizzle_migrations`;

/** Problems with the database's migrations against the folder's, as a sentence (undefined: none). */
function migrationProblems(deps: Pick<Deps, 'db'>, folder: string): string | undefined {
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  const tags = Journal.parse(JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'))).entries.map((e) => e.tag);
  const applied = new Set(deps.db.all<{ hash: string }>(APPLIED).map((row) => row.hash));
  const known = new Set(migrations.map((m) => m.hash));
  const pending = migrations.flatMap((m, i) => (applied.has(m.hash) ? [] : [tags[i] ?? String(m.folderMillis)]));
  const unknown = [...applied].filter((hash) => !known.has(hash)).length;
  const problems = [
    pending.length ? `not applied (or changed since they were applied): ${pending.join(', ')}` : '',
    unknown ? `${unknown} applied migration(s) this build's migrations folder does not have (a newer build migrated the database?)` : '',
  ].filter(Boolean);
  return problems.length ? problems.join('; ') : undefined;
}

export async function checkReadiness({ deps, files, migrationsFolder = MIGRATIONS_FOLDER }: ReadinessOptions): Promise<Readiness> {
  const checks = {} as Record<CheckName, CheckResult>;

  try {
    deps.db.run(sql`select 1`);
    checks.database = PASS;
  } catch (error) {
    checks.database = fail(`the database does not answer: ${messageOf(error)}`);
  }

  try {
    const problems = migrationProblems(deps, migrationsFolder);
    checks.migrations = problems ? fail(problems) : PASS;
  } catch (error) {
    checks.migrations = fail(`the migrations could not be compared: ${messageOf(error)}`);
  }

  try {
    await files.probe();
    checks.files = PASS;
  } catch (error) {
    checks.files = fail(`the file store does not take a write: ${messageOf(error)}`);
  }

  const full = deps.storage.problems();
  checks.freeSpace = full.length ? fail(full.map((p) => `${p.store}: ${p.reason}`).join('; ')) : PASS;

  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
