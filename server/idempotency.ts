/**
 * Idempotency keys of the creates (exportJobs.create, templates.generate), the one place
 * their rules live. A key is the caller's: 1-255 printable ASCII characters, scoped to the
 * user. The first request with a key that succeeds stores the key, a hash of the request and
 * the job it made, in the transaction that inserts the job (a unique index on (user, key)
 * backs it), so two racing requests with one key make one job, and a request that fails
 * stores nothing. A later request with that key and the same request (compared canonically:
 * the parsed input, the key left out, serialised with sorted keys, with the operation's
 * name) is a replay: the same job. With another request it is IdempotencyKeyReused (409).
 * A key is kept config.idempotencyTtlMs, never longer than its job, and swept with the jobs.
 */
import { createHash } from 'node:crypto';
import type { Config } from './config.js';
import { NotepadError } from './contract/errors.js';
import type { KeyedRequest, NewKey, StoredKey } from './stores/idempotency.js';

export type { KeyedRequest } from './stores/idempotency.js';

/** The HTTP header a REST create takes the key from. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The header a replayed answer carries, `true`. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** What an operation tells its transport beside its answer. */
export interface RunOutcome {
  /** The answer is an earlier request's, found by its Idempotency-Key. */
  replayed?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with every object's keys sorted and undefined members left out: one text per value. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value as Json) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash a key is stored with: the operation and its parsed input, without the key. */
export function requestHashOf(operation: string, input: { idempotencyKey?: string | undefined }): string {
  const { idempotencyKey: _, ...request } = input;
  return createHash('sha256').update(`${operation}\n${canonicalJson(request)}`).digest('hex');
}

/**
 * The job an earlier request with this key made, if it is the same request; throws
 * IdempotencyKeyReused if it is another. `earlier` is the caller's unexpired key as the
 * create's transaction read it (undefined: none); check it first.
 */
export function replayedJobRid(earlier: StoredKey | undefined, request: KeyedRequest): string | undefined {
  if (!earlier) return undefined;
  if (earlier.requestHash !== request.requestHash) throw new NotepadError('IdempotencyKeyReused', { idempotencyKey: request.key });
  return earlier.jobRid;
}

/** The key to store beside the job it made, in the transaction that inserts the job: kept idempotencyTtlMs, never longer than its job. */
export function keyToStore(config: Pick<Config, 'idempotencyTtlMs'>, request: KeyedRequest, jobRid: string, now: number, jobExpiresAt: number): NewKey {
  return { ...request, jobRid, createdAt: now, expiresAt: Math.min(now + config.idempotencyTtlMs, jobExpiresAt) };
}
