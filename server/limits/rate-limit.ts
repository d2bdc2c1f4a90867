/**
 * Requests per bearer token: a token bucket per key (the token's sha256, never the token),
 * refilled at `perSecond` up to `burst`. The buckets live in this process's memory, so each
 * process of a deployment limits on its own (README "Limits").
 *
 * Memory stays bounded: a bucket that has refilled to `burst` is the same as no bucket, so
 * idle buckets are dropped as requests come in, oldest first; past `maxKeys` the least
 * recently used bucket goes even if not yet full (its key then starts again with a full burst).
 */

export interface RateLimiterOptions {
  perSecond: number;
  burst: number;
  /** The clock, in milliseconds (deps.now), so tests control time. */
  now: () => number;
  maxKeys?: number;
}

export interface RateLimiter {
  /** Takes one request for `key`: undefined if allowed, else the seconds until one would be. */
  take(key: string): number | undefined;
  /** Buckets held now. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

const DEFAULT_MAX_KEYS = 100_000;

export function createRateLimiter({ perSecond, burst, now, maxKeys = DEFAULT_MAX_KEYS }: RateLimiterOptions): RateLimiter {
  if (!(perSecond > 0) || !(burst >= 1)) throw new Error(`a rate limit needs perSecond > 0 and burst >= 1, got ${perSecond}/s, burst ${burst}`);
  const perMs = perSecond / 1000;
  // Map order is least recently used first: every take moves its key to the end.
  const buckets = new Map<string, Bucket>();

  const refilled = (bucket: Bucket, t: number) => Math.min(burst, bucket.tokens + Math.max(0, t - bucket.at) * perMs);

  function evict(t: number): void {
    for (const [key, bucket] of buckets) {
      if (buckets.size < maxKeys && refilled(bucket, t) < burst) return;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      const t = now();
      const held = buckets.get(key);
      const bucket: Bucket = held ? { tokens: refilled(held, t), at: t } : { tokens: burst, at: t };
      buckets.delete(key);
      // Before the insert, so that at most maxKeys remain.
      evict(t);
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      return (1 - bucket.tokens) / perMs / 1000;
    },
    get size() {
      return buckets.size;
    },
  };
}
