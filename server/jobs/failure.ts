import { randomUUID } from 'node:crypto';

export type JobErrorCode = 'TIMEOUT' | 'CONTENT_TOO_LARGE' | 'STORAGE_QUOTA_EXCEEDED' | 'INTERNAL';

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
