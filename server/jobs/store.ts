/**
 * What the job runner needs from storage, and nothing else: claims and leases, the
 * source of an export, the outcome writes, and the sweeper's reads and deletes. One
 * implementation per backend (sqlite-store.ts); the runner, the lease functions and the
 * CLI see only this interface, never SQL. Every method returns a Promise, so a backend with
 * an asynchronous driver implements the same interface; SQLite answers synchronously inside.
 *
 * Every lease and outcome write takes effect only for the attempt that holds the job's
 * live lease (see isLeaseLive in lease.ts) and reports whether it did.
 */
import type { exportJobs, generationJobs } from '../../db/schema.js';
import type { Content } from '../contract/content.js';
import type { JobErrorCode } from './failure.js';

export type ExportJobRow = typeof exportJobs.$inferSelect;
export type GenerationJobRow = typeof generationJobs.$inferSelect;
export type JobKind = 'export' | 'generation';
export type JobRowOf<K extends JobKind> = K extends 'export' ? ExportJobRow : GenerationJobRow;

/**
 * One attempt at one job: the runner that claimed it and which claim it was. A runner
 * may claim the same job twice (its first lease lapsed), so the owner alone does not
 * say which attempt a write comes from.
 */
export interface Attempt {
  rid: string;
  owner: string;
  attempt: number;
}

/** Who asks and when: the lease is `owner`'s until `now + leaseMs`. */
export interface LeaseRequest {
  owner: string;
  now: number;
  leaseMs: number;
}

/**
 * Whose jobs a claim may take: anyone's (the fair pick), or only those of users with no
 * job rendering anywhere: what a runner's express slot takes, so that one user's flood
 * never holds every slot while another user's export waits.
 */
export type ClaimScope = 'anyone' | 'idle-users';

export interface ExportSource {
  title: string;
  content: Content;
}

/** Why an export has nothing to render (its job fails INTERNAL with this message), on every backend. */
export const SOURCE_MISSING = {
  document: { missing: 'The document no longer exists.' },
  generation: { missing: 'The generation job no longer has content to export.' },
  none: { missing: 'The export job has no source.' },
} as const;

export interface ExportInputs {
  storedBytes: number;
  source: ExportSource | { missing: string };
}

export interface StoredFileRow {
  rid: string;
  mediaType: string;
  filename: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
}

/**
 * How a success commit ended: recorded; not, because the attempt no longer holds a live
 * lease; or not, because the file does not fit beside the bytes its user holds.
 */
export type CommitOutcome = { outcome: 'committed' } | { outcome: 'lease-lost' } | { outcome: 'refused'; storedBytes: number };

/** How far the attempt rendering an export has got (ExportJob.progress while it runs). */
export interface RenderProgress {
  stage: 'rendering' | 'storing';
  pagesRendered: number;
}

export type GenerationOutcome = { status: 'succeeded'; content: Content } | { status: 'failed'; errorMessage: string };

export interface JobStore {
  /**
   * The next running job of that kind nobody holds a live lease on, picked fairly between
   * users (see fairPick in sqlite-store.ts), now leased to the caller; with scope
   * 'idle-users', only a job of a user who has nothing rendering.
   */
  claimNext<K extends JobKind>(kind: K, lease: LeaseRequest, scope?: ClaimScope): Promise<JobRowOf<K> | undefined>;
  /** That one generation job, if nobody holds a live lease on it (the CLI's `generate --wait`). */
  claimGeneration(rid: string, lease: LeaseRequest): Promise<GenerationJobRow | undefined>;
  /** Extends the attempt's live lease to now + leaseMs. */
  renew(kind: JobKind, attempt: Attempt, now: number, leaseMs: number): Promise<boolean>;
  /** Gives the job back untouched (graceful shutdown): claimable at once, this attempt not counted. */
  release(kind: JobKind, attempt: Attempt, now: number): Promise<boolean>;

  /**
   * What an export job starts from: what its user holds (files and generated content: the
   * quota check before a render), and what it renders (a document, or a succeeded generation
   * job's content), read together.
   */
  exportInputs(job: ExportJobRow): Promise<ExportInputs>;
  /**
   * Ends the job `succeeded` and records its file, in one transaction, if its user holds at
   * most `maxHeldBytes` then (files and generated content; quotas.ts maxHeldAdmitting):
   * 'refused' otherwise, with what the user holds.
   */
  commitExportSuccess(job: ExportJobRow, attempt: Attempt, now: number, file: StoredFileRow, maxHeldBytes: number): Promise<CommitOutcome>;
  /** The bytes of files and generated content a user holds. */
  storedBytes(userId: string): Promise<number>;
  /** Records the attempt's progress (and moves the job's version on, for its events). */
  writeProgress(attempt: Attempt, now: number, progress: RenderProgress): Promise<boolean>;
  failExport(attempt: Attempt, now: number, failure: { errorCode: JobErrorCode; message: string; errorInstanceId: string }): Promise<boolean>;

  /** The content of one published template version. */
  templateVersionContent(templateRid: string, version: number): Promise<Content | undefined>;
  finishGeneration(attempt: Attempt, now: number, outcome: GenerationOutcome): Promise<boolean>;

  /** Files expired at `now`. */
  expiredFiles(now: number): Promise<Array<{ rid: string; storageKey: string }>>;
  /** Deletes those file rows, every job and idempotency key expired at `now`, in one transaction. */
  deleteExpired(now: number, fileRids: readonly string[]): Promise<{ exportJobs: number; files: number; generationJobs: number; idempotencyKeys: number }>;
  /** Whether a file row names these bytes. */
  fileRowExists(storageKey: string): Promise<boolean>;
  /** The state of an export job that decides whether an attempt of it is live. */
  exportAttemptState(rid: string): Promise<{ status: ExportJobRow['status']; attempts: number; leaseExpiresAt: number | null } | undefined>;
}
