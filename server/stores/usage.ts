/**
 * What a user holds, as the quota rules (server/quotas.ts) read it inside a create's
 * transaction. Types only: each create's facts (exports.ts, generations.ts) carry these.
 */

/** A user's running jobs and stored bytes (files and generated content); all zero for a user who holds nothing. */
export interface Usage {
  activeExportJobs: number;
  activeGenerationJobs: number;
  storedBytes: number;
}

export interface UsageFacts {
  /** The creating user's usage, read in the create's transaction. */
  readonly usage: Usage;
  /** When the user's first file or generated content expires (undefined: the user holds none): when storage can free up. */
  readonly storageFreesAt: number | undefined;
}
