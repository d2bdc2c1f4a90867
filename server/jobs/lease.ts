/**
 * Leases: how a runner holds a job. A claim leases the next claimable job for leaseMs;
 * the holder renews while it works; a runner that dies stops renewing, its lease lapses,
 * and the next claim takes the job over (its attempt counted). These functions take the
 * store and a clock, nothing else, so any backend's JobStore serves them.
 */
import type { Attempt, ClaimScope, JobKind, JobRowOf, JobStore } from './store.js';

/**
 * The one definition of a live attempt: its lease runs up to and including its expiry
 * instant. Only a live attempt may renew, succeed, fail or give its job back (every
 * store enforces this in its writes), and the sweeper keeps exactly the bytes of live
 * attempts: once a lease has lapsed, that attempt can never commit, so its bytes are
 * safe to delete.
 */
export const isLeaseLive = (leaseExpiresAt: number | null, now: number): boolean => leaseExpiresAt !== null && leaseExpiresAt >= now;

export interface Leases {
  store: JobStore;
  now: () => number;
  /** How long a claim or renewal lasts. */
  leaseMs: () => number;
}

const request = (leases: Leases, owner: string) => ({ owner, now: leases.now(), leaseMs: leases.leaseMs() });

/**
 * Claims the next running job of that kind nobody holds a live lease on: the user with the
 * fewest jobs rendering first, then the one served least recently, and that user's oldest.
 */
export function claimNext<K extends JobKind>(leases: Leases, kind: K, owner: string, scope: ClaimScope = 'anyone'): Promise<JobRowOf<K> | undefined> {
  return leases.store.claimNext(kind, request(leases, owner), scope);
}

/** Claims one given generation job if nobody holds a live lease on it (the CLI's `generate --wait`). */
export function claimGenerationJob(leases: Leases, rid: string, owner: string): Promise<JobRowOf<'generation'> | undefined> {
  return leases.store.claimGeneration(rid, request(leases, owner));
}

/** Extends our live lease; false when the attempt is no longer live (finished, lapsed, or claimed again). */
export function renewLease(leases: Leases, kind: JobKind, attempt: Attempt): Promise<boolean> {
  return leases.store.renew(kind, attempt, leases.now(), leases.leaseMs());
}

/** Gives a claimed job back untouched (graceful shutdown): the next runner may start it at once. */
export function releaseLease(leases: Leases, kind: JobKind, attempt: Attempt): Promise<boolean> {
  return leases.store.release(kind, attempt, leases.now());
}

/** The attempt a claimed row stands for. */
export const attemptOf = (job: { rid: string; leaseOwner: string | null; attempts: number }): Attempt => ({
  rid: job.rid,
  owner: job.leaseOwner ?? '',
  attempt: job.attempts,
});
