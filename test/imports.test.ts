import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importsOf, productModules, ROOT, seamViolations, sourceOf } from './storage-imports.js';

interface MadgeResult {
  circular(): string[][];
  obj(): Record<string, string[]>;
}
// madge ships no types; this is the part of its API the check uses.
const madge = createRequire(import.meta.url)('madge') as (path: string, config: object) => Promise<MadgeResult>;

describe('module structure', () => {
  it('server/ has no import cycles (madge), type-only imports included', { timeout: 60_000 }, async () => {
    const result = await madge(resolve(ROOT, 'server'), {
      fileExtensions: ['ts'],
      tsConfig: resolve(ROOT, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    });
    // The check resolves the `.js` specifiers to the `.ts` files: it sees the real graph.
    expect(result.obj()['stores/sqlite/index.ts']).toEqual(expect.arrayContaining(['jobs/sqlite-store.ts', 'stores/sqlite/exports.ts']));
    expect(result.circular()).toEqual([]);
  });
});

describe('the storage seam (docs/STORES.md)', () => {
  it('no product module outside the SQLite backend imports the driver, Drizzle, or the database modules', () => {
    const modules = productModules();
    // The walk sees the tree: services, the runner, the CLI and a SQLite store among them.
    expect(modules).toEqual(expect.arrayContaining(['server/services/export-jobs.ts', 'server/jobs/runner.ts', 'server/cli.ts', 'server/stores/sqlite/exports.ts']));
    expect(modules.flatMap((file) => seamViolations(file, sourceOf(file)))).toEqual([]);
  });

  it('the SQLite backend does import them: the check looks where the SQL is', () => {
    expect(importsOf(sourceOf('server/stores/sqlite/exports.ts')).map((i) => i.specifier)).toEqual(expect.arrayContaining(['drizzle-orm', '../../../db/index.js']));
  });

  it('would catch a service, route or tool that reached past the interfaces', () => {
    expect(seamViolations('server/services/x.ts', "import { eq } from 'drizzle-orm';")).toEqual(['server/services/x.ts -> drizzle-orm']);
    expect(seamViolations('server/rest.ts', "import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';")).toEqual([
      'server/rest.ts -> drizzle-orm/better-sqlite3',
    ]);
    expect(seamViolations('server/cli.ts', "import Database from 'better-sqlite3';")).toEqual(['server/cli.ts -> better-sqlite3']);
    expect(seamViolations('server/seed.ts', "import { openDatabase } from '../db/index.js';")).toEqual(['server/seed.ts -> db/index.ts']);
    expect(seamViolations('server/operating/metrics.ts', "const db = await import('../../db/index.js');")).toEqual(['server/operating/metrics.ts -> db/index.ts']);
    expect(seamViolations('server/services/x.ts', "export { users } from '../../db/schema.js';")).toEqual(['server/services/x.ts -> db/schema.ts']);
    // The one type-only exception is the runner's interface; a value import there is not.
    expect(seamViolations('server/jobs/store.ts', "import type { exportJobs } from '../../db/schema.js';")).toEqual([]);
    expect(seamViolations('server/jobs/store.ts', "import { exportJobs } from '../../db/schema.js';")).toEqual(['server/jobs/store.ts -> db/schema.ts']);
    expect(seamViolations('server/stores/sqlite/y.ts', "import { eq } from 'drizzle-orm';")).toEqual([]);
  });
});
