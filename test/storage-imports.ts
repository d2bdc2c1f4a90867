/**
 * The storage seam as a static rule: which modules may import the SQLite driver, Drizzle or
 * the database modules. Everything else (services, routes, CLI, seed, runner, operating/)
 * sees storage only through the interfaces of server/stores/ (docs/STORES.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

/** Product code: what ships and runs (tests and benchmarks may look at the database directly). */
export const PRODUCT_DIRS = ['server', 'client', 'scripts'];

/** Where a backend's SQL lives: the SQLite stores, the runner's SQLite store, the WAL checkpointer (threads/), the schema and connection. */
export const SQLITE_MODULES = [/^server\/stores\/sqlite\//, /^server\/jobs\/sqlite-store\.ts$/, /^server\/threads\//, /^db\//];

/**
 * The one exception: the runner's store interface names its rows by the schema's types
 * (type-only: nothing of the schema is loaded, and a second backend's rows must match them).
 */
/**
 * Where PostgreSQL's SQL lives: its stores, the runner's PostgreSQL store and coordination
 * (pg-store.ts, pg-sweeper-lock.ts, pg-wakeups.ts); db/pg/ is covered by /^db\//.
 */
export const PG_MODULES = [/^server\/stores\/pg\//, /^server\/jobs\/pg-[a-z-]+\.ts$/];

const TYPE_ONLY_SCHEMA = /^server\/jobs\/store\.ts$/;

export interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Every static and dynamic import and re-export of a module's source. */
export function importsOf(source: string): Import[] {
  const found: Import[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(statement)) found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined });
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

/** What an import names: a package, or a repository path (`.js` specifiers name the `.ts` file). */
export function targetOf(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(ROOT, resolve(dirname(join(ROOT, file)), specifier)).replace(/\.js$/, '.ts');
}

const isDriver = (target: string) => target === 'better-sqlite3' || target === 'pg' || target === 'drizzle-orm' || target.startsWith('drizzle-orm/');
const isDatabaseModule = (target: string) => target === 'db/index.ts' || target === 'db/schema.ts' || target.startsWith('db/pg/');

/** The imports of one module that break the seam, as `file -> target`. */
export function seamViolations(file: string, source: string): string[] {
  if ([...SQLITE_MODULES, ...PG_MODULES].some((allowed) => allowed.test(file))) return [];
  return importsOf(source).flatMap(({ specifier, typeOnly }) => {
    const target = targetOf(file, specifier);
    if (target === 'db/schema.ts' && typeOnly && TYPE_ONLY_SCHEMA.test(file)) return [];
    return isDriver(target) || isDatabaseModule(target) ? [`${file} -> ${target}`] : [];
  });
}

export function productModules(): string[] {
  return PRODUCT_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `${dir}/${name}`),
  );
}

export const sourceOf = (file: string) => readFileSync(join(ROOT, file), 'utf8');
