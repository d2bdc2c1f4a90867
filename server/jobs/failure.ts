import { randomUUID } from 'node:crypto';

/** CANCELLED: its creator cancelled it (exportJobs.cancel, an extension); never a runner's verdict. */
export type JobErrorCode = 'TIMEOUT' | 'CONTENT_TOO_LARGE' | 'STORAGE_QUOTA_EXCEEDED' | 'INTERNAL' | 'CANCELLED';

/** Why a job failed, in the terms its status reports: a message for people, a code for programs. */
export class JobFailure extends Error {
  readonly errorInstanceId = randomUUID();
  constructor(
    readonly errorCode: JobErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JobFailure';
  }
}
