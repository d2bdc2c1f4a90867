/**
 * Knobs of test/fuzz.test.ts, from the environment, so `npm test` (quick) and `npm run fuzz`
 * (long) run the same properties:
 *
 *   FUZZ_RUNS    cases in total, split over the targets by weight (default 2000)
 *   FUZZ_SEED    replay a run: the seed a failure (or RELIABILITY.md) printed
 *
 * RELIABILITY_RECORD=1 (set by `npm run fuzz`) rewrites the fuzzing section of test/RELIABILITY.md.
 */
export interface FuzzConfig {
  totalRuns: number;
  seed: number;
}

export const QUICK_RUNS = 2_000;

function intFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return value;
}

export function fuzzConfig(env: NodeJS.ProcessEnv = process.env): FuzzConfig {
  const totalRuns = intFrom(env, 'FUZZ_RUNS') ?? QUICK_RUNS;
  if (totalRuns < 1) throw new Error('FUZZ_RUNS must be at least 1');
  // A fresh seed per run unless told: every `npm test` explores new cases, and a failure
  // prints the seed that replays it.
  const seed = intFrom(env, 'FUZZ_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  return { totalRuns, seed };
}

/**
 * Splits `total` cases over targets in proportion to their weights; the parts add up to
 * `total` exactly (largest remainders) and every target gets at least one case.
 */
export function splitRuns<K extends string>(total: number, weights: Record<K, number>): Record<K, number> {
  const keys = Object.keys(weights) as K[];
  const sum = keys.reduce((s, k) => s + weights[k], 0);
  const exact = keys.map((k) => ({ k, share: (total * weights[k]) / sum }));
  const parts = Object.fromEntries(exact.map(({ k, share }) => [k, Math.max(1, Math.floor(share))])) as Record<K, number>;
  let left = total - keys.reduce((s, k) => s + parts[k], 0);
  const byRemainder = [...exact].sort((a, b) => (b.share % 1) - (a.share % 1));
  for (let i = 0; left > 0; i = (i + 1) % byRemainder.length, left--) parts[byRemainder[i]!.k]++;
  return parts;
}
