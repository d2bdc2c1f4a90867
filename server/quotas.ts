/**
 * Per-user quotas, the one place their rules live: how many jobs of each kind a user may
 * have running.
 *
 * They read user_usage (db/schema.ts), which triggers keep in the transaction of every
 * write of a job or file. A create checks inside the transaction of its insert (the group
 * commit unit for exports, an immediate transaction for generations), so concurrent
 * creates, in this process or another on the same database, cannot overshoot.
 */
import { NotepadError } from './contract/errors.js';
import type { Deps } from './deps.js';
import type { JobKind } from './jobs/store.js';

const NOTHING = { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 };

/**
 * The quota checks of a create of that kind. Call inside the transaction that inserts the
 * job, after the operation's own checks. Throws the catalog's 429.
 */
export function checkCreateQuotas(deps: Deps, userId: string, kind: JobKind): void {
  const { quotas } = deps.config;
  const usage = deps.stmts.usageOf.get({ userId }) ?? NOTHING;
  // A slot frees whenever one of the user's jobs ends: worth asking again soon.
  if (kind === 'export' && usage.activeExportJobs >= quotas.maxActiveExportJobsPerUser) {
    throw new NotepadError('TooManyActiveExportJobs', { limit: quotas.maxActiveExportJobsPerUser }, { retryAfterSeconds: 1 });
  }
  if (kind === 'generation' && usage.activeGenerationJobs >= quotas.maxActiveGenerationJobsPerUser) {
    throw new NotepadError('TooManyActiveGenerationJobs', { limit: quotas.maxActiveGenerationJobsPerUser }, { retryAfterSeconds: 1 });
  }
}
