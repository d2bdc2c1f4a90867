import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface MadgeResult {
  circular(): string[][];
  obj(): Record<string, string[]>;
}
// madge ships no types; this is the part of its API the check uses.
const madge = createRequire(import.meta.url)('madge') as (path: string, config: object) => Promise<MadgeResult>;

const ROOT = resolve(import.meta.dirname, '..');

describe('module structure', () => {
  it('server/ has no import cycles (madge), type-only imports included', { timeout: 60_000 }, async () => {
    const result = await madge(resolve(ROOT, 'server'), {
      fileExtensions: ['ts'],
      tsConfig: resolve(ROOT, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    });
    // The check resolves the `.js` specifiers to the `.ts` files: it sees the real graph.
    expect(result.obj()['deps.ts']).toEqual(expect.arrayContaining(['jobs/sqlite-store.ts', 'services/statements.ts']));
    expect(result.circular()).toEqual([]);
  });
});
