/**
 * Export jobs as the API sees them (create, get, list, cancel) and their files' metadata.
 * The runner's side of the same rows is jobs/store.ts.
 */
import type { GrantAction } from '../contract/grants.js';
import type { Decide } from './decide.js';
import type { KeyedRequest, NewKey, StoredKey } from './idempotency.js';
import type { UsageFacts } from './usage.js';
import type { LiveGenerationJob } from './generations.js';

export type ExportJobStatusName = 'running' | 'succeeded' | 'failed';

/** The columns an ExportJob answer is built from (services/export-job-answer.ts), and the row's version (its events' ids). */
export interface ExportJobAnswerRow {
  rid: string;
  status: ExportJobStatusName;
  fileRid: string | null;
  errorMessage: string | null;
  errorCode: string | null;
  errorInstanceId: string | null;
  progressStage: 'rendering' | 'storing' | null;
  pagesRendered: number;
  version: number;
}

export interface ExportJobPageRow extends ExportJobAnswerRow {
  createdAt: number;
}

export type ExportSourceRef =
  | { type: 'documentSource'; documentRid: string }
  | { type: 'generationJobSource'; generationJobRid: string; templateRid: string };

export interface ExportCreateRequest {
  userId: string;
  source: ExportSourceRef;
  /** Only with an Idempotency-Key. */
  keyed?: KeyedRequest | undefined;
  now: number;
}

/** What a create's checks read, in its transaction. A fact of the other source type reads as nothing. */
export interface ExportCreateFacts extends UsageFacts {
  /** The caller's unexpired key (only with one), and the job it made if the caller still sees it (unexpired). */
  readonly earlier: (StoredKey & { job: ExportJobAnswerRow | undefined }) | undefined;
  /** documentSource: the caller's granted actions on the document, as stored (none implied). */
  readonly documentGrants: readonly GrantAction[];
  readonly documentExists: boolean;
  /** generationJobSource: the job under that template, unexpired, whoever created it. */
  readonly generationJob: LiveGenerationJob | undefined;
}

export interface NewExportJob {
  rid: string;
  creatorId: string;
  source: ExportSourceRef;
  userLocale: string;
  userTimezone: string;
  createdAt: number;
  expiresAt: number;
}

export interface ExportCreateWrite {
  job: NewExportJob;
  key?: NewKey | undefined;
}

export interface ExportPageQuery {
  creatorId: string;
  /** Strictly older than this position (created_at, then rid), newest first. */
  before: { createdAt: number; rid: string };
  now: number;
  /** Of one status, or any. */
  status: ExportJobStatusName | undefined;
  limit: number;
}

export interface FileRow {
  rid: string;
  exportJobRid: string;
  ownerId: string;
  mediaType: string;
  filename: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
  createdAt: number;
  expiresAt: number;
}

export interface ExportJobStore {
  /**
   * Reads the facts, asks `decide`, writes what it returns, as one atomic step (SQLite: one
   * unit of a group commit). Resolves with decide's answer once the writes are durable.
   */
  create<Answer>(request: ExportCreateRequest, decide: Decide<ExportCreateFacts, Answer, ExportCreateWrite>): Promise<Answer>;
  /** The job if `creatorId` made it and it has not expired at `now`. */
  get(rid: string, creatorId: string, now: number): Promise<ExportJobAnswerRow | undefined>;
  /**
   * Those of the jobs that exist and have not expired at `now`, whoever made them, in any
   * order: what their watchers read, every watched job in one read (services/export-job-watchers.ts).
   */
  changes(rids: readonly string[], now: number): Promise<ExportJobAnswerRow[]>;
  /** A page of a user's unexpired jobs, newest first. */
  page(query: ExportPageQuery): Promise<ExportJobPageRow[]>;
  /**
   * Ends the creator's running, unexpired job `failed` with errorCode CANCELLED and takes its
   * lease away (so its attempt can neither renew nor commit). Whether it did.
   */
  cancel(request: { rid: string; creatorId: string; now: number; errorMessage: string }): Promise<boolean>;
  /** A file that has not expired at `now`, whoever owns it. */
  file(rid: string, now: number): Promise<FileRow | undefined>;
}
