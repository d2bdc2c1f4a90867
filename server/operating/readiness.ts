/**
 * GET /ready: whether this process can serve its work now, check by check, for a load
 * balancer or an orchestrator (GET /health stays the liveness probe: the process is alive).
 * Ready when the database answers, its migrations are exactly this build's (those in the
 * migrations folder, no fewer and no more: another build may have migrated a shared
 * database), the file store takes a write (FileStore.probe: written and removed), and neither
 * store is short of space (storage-health.ts). Otherwise 503, naming each failing check.
 */
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
  deps: Pick<Deps, 'stores' | 'storage'>;
  files: Pick<FileStore, 'probe'>;
  /** Default: this build's (the backend's own). */
  migrationsFolder?: string;
}

const PASS: CheckResult = { ok: true };
const fail = (reason: string): CheckResult => ({ ok: false, reason });
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function checkReadiness({ deps, files, migrationsFolder }: ReadinessOptions): Promise<Readiness> {
  const checks = {} as Record<CheckName, CheckResult>;

  try {
    await deps.stores.operating.ping();
    checks.database = PASS;
  } catch (error) {
    checks.database = fail(`the database does not answer: ${messageOf(error)}`);
  }

  try {
    const problems = await deps.stores.operating.migrationProblems(migrationsFolder);
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
