/**
 * Per-user quotas, the one place their rules live: how many jobs of each kind a user may
 * have running, and how many bytes of stored files and generated content a user may hold.
 *
 * They read a user's usage (stores/usage.ts; on SQLite, user_usage, which triggers keep in
 * the transaction of every write of a job or file). A create checks the usage its store
 * read inside the transaction of its insert (stores/decide.ts), so concurrent creates, in
 * this process or another on the same database, cannot overshoot.
 *
 * Storage is checked at both ends of an export. A create or generate is refused while the
 * user holds the limit or more; a render that would take the user past it fails with
 * errorCode STORAGE_QUOTA_EXCEEDED instead of keeping its file (checked in the transaction
 * that would record the file, and before rendering, to spare the work). So files never take
 * a user past the limit. Generated content is admitted and counted: it is small (a template
 * and its parameters), so at most the generations already running can take a user past it.
 */
import { NotepadError } from './contract/errors.js';
import type { Config } from './config.js';
import { JobFailure } from './jobs/failure.js';
import type { JobKind } from './jobs/store.js';
import type { UsageFacts } from './stores/usage.js';

type Quotas = Config['quotas'];

/** Whether a user who holds `storedBytes` may start work that stores more. */
export const hasStorageLeft = (quotas: Quotas, storedBytes: number): boolean => storedBytes < quotas.maxStoredBytesPerUser;

/**
 * The most bytes a user may hold for a file of `addingBytes` to fit beside them: the bound
 * an export's success commit checks the user's stored bytes against (as a number, so that a
 * store can check it inside its statement).
 */
export const maxHeldAdmitting = (quotas: Quotas, addingBytes: number): number => quotas.maxStoredBytesPerUser - addingBytes;

/**
 * The quota checks of a create of that kind, in their order: the user's running jobs of
 * that kind, then the user's storage. Call from the create's decide (stores/decide.ts),
 * after the operation's own checks. Throws the catalog's 429.
 */
export function checkCreateQuotas(quotas: Quotas, facts: UsageFacts, kind: JobKind, now: number): void {
  const { usage } = facts;
  // A slot frees whenever one of the user's jobs ends: worth asking again soon.
  if (kind === 'export' && usage.activeExportJobs >= quotas.maxActiveExportJobsPerUser) {
    throw new NotepadError('TooManyActiveExportJobs', { limit: quotas.maxActiveExportJobsPerUser }, { retryAfterSeconds: 1 });
  }
  if (kind === 'generation' && usage.activeGenerationJobs >= quotas.maxActiveGenerationJobsPerUser) {
    throw new NotepadError('TooManyActiveGenerationJobs', { limit: quotas.maxActiveGenerationJobsPerUser }, { retryAfterSeconds: 1 });
  }
  if (!hasStorageLeft(quotas, usage.storedBytes)) {
    // Until the user's first file or generated content expires: the earliest that room can appear.
    const freesAt = facts.storageFreesAt;
    const retryAfterSeconds = freesAt === undefined ? 1 : Math.max(1, (freesAt - now) / 1000);
    throw new NotepadError('StorageQuotaExceeded', { limitBytes: quotas.maxStoredBytesPerUser }, { retryAfterSeconds });
  }
}

/** Why an export fails when its user has no storage left (before rendering), or its file would not fit. */
export function storageQuotaFailure(quotas: Quotas, storedBytes: number, fileBytes?: number): JobFailure {
  const limit = quotas.maxStoredBytesPerUser;
  const message =
    fileBytes === undefined
      ? `Your stored files and generated content (${storedBytes} bytes) have reached the limit of ${limit} bytes; the export was not rendered.`
      : `The exported file (${fileBytes} bytes) would take your stored files and generated content (${storedBytes} bytes) past the limit of ${limit} bytes; it was not kept.`;
  return new JobFailure('STORAGE_QUOTA_EXCEEDED', message);
}
