/**
 * The stored side of Idempotency-Keys (the rules are server/idempotency.ts). Types only: a
 * key is read and written inside the transaction of the create it belongs to, so each
 * create's facts carry the earlier key and each create's writes the new one.
 */

/** A create made with a key: whose, which, and the hash of the request it came with. */
export interface KeyedRequest {
  userId: string;
  key: string;
  requestHash: string;
}

/** A user's unexpired key as stored: the request it came with and the job it made. */
export interface StoredKey {
  requestHash: string;
  jobRid: string;
}

/** A key to store beside the job it made (replacing an expired row of the same key). */
export interface NewKey extends KeyedRequest {
  jobRid: string;
  createdAt: number;
  expiresAt: number;
}
