/**
 * The PostgreSQL connection pool and its migrations (migrations-pg/, generated from
 * db/pg/schema.ts). The SQLite counterpart is db/index.ts.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { ADVISORY_LOCKS } from './advisory-locks.js';
import { DEFAULT_LOCK_WAIT_MS } from '../lock-wait.js';
import * as schema from './schema.js';

export { schema as pgSchema };
/** With its pool: a statement of its own (a named one drizzle cannot prepare) runs on `$client`. */
export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export const PG_MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations-pg');

export interface PostgresDatabase {
  db: PgDb;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface OpenPostgresOptions {
  /** Connections in the pool (config: NOTEPAD_DB_POOL). */
  poolSize: number;
  /** An idle pooled connection failed (e.g. the server restarted); the pool replaces it. */
  onIdleError?: (error: Error) => void;
  /**
   * How long a statement waits for another session's lock before it fails (PostgreSQL's
   * lock_timeout), as SQLite's busy timeout bounds a writer's wait: a table held by another
   * session makes a request fail, not hang. Default db/lock-wait.ts's, SQLite's too.
   */
  lockTimeoutMs?: number;
}

/**
 * Every connection this service opens to PostgreSQL (pools, the LISTEN client). Without a
 * connect timeout a server that takes the TCP connection but never answers (a host gone
 * mid-failover, a dropped route) leaves a request, or the listener's reconnect, waiting
 * forever; the error it fails with instead is a connection error (isConnectionLost), so
 * requests answer INTERNAL and runners retry. Keepalives find a peer that vanished under an
 * established connection, which would otherwise wait on it as long.
 */
export const PG_CONNECTION_OPTIONS = {
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
} as const satisfies pg.ClientConfig;


/**
 * A connection's error (the server restarted or ended the session) is an 'error' event, and
 * an event nobody listens to crashes the process. pg-pool listens on idle connections only,
 * and takes its listener off a connection it hands out: one that fails while checked out
 * between two statements (a transaction running its JavaScript, the sweeper holding its
 * lock) would take the process down. So every connection gets a listener of its own for its
 * whole life; the statement that next uses it fails instead, and the pool discards it.
 */
export function guardPool(pool: pg.Pool, onError: ((error: Error) => void) | undefined): void {
  pool.on('error', (error) => onError?.(error));
  pool.on('connect', (client) => client.on('error', (error) => onError?.(error)));
}

/** Opens a pool on `url` and applies pending migrations (under the migrations lock). */
export async function openPostgres(url: string, options: OpenPostgresOptions): Promise<PostgresDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    ...PG_CONNECTION_OPTIONS,
    lock_timeout: Math.max(0, Math.floor(options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS)),
  });
  guardPool(pool, options.onIdleError);
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = drizzle({ client: pool, schema });
  return { db, pool, close: () => pool.end() };
}

/**
 * Applies pending migrations on one connection holding the migrations advisory lock, so
 * several processes starting at once against one database apply each migration once:
 * the first migrates, the others wait for the lock, then find nothing left to do. (Without
 * it two of them race on drizzle's `CREATE SCHEMA IF NOT EXISTS` and on the migrations.)
 */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  await withAdvisoryLock(pool, ADVISORY_LOCKS.migrations, (client) => migrate(drizzle({ client, schema }), { migrationsFolder: PG_MIGRATIONS_FOLDER }));
}

/**
 * Runs `work` while holding advisory lock `key` on a connection of `pool` (handed to it),
 * waiting for another process that holds it for as long as that takes: a one-at-a-time
 * step of processes starting together (migrations).
 */
export async function withAdvisoryLock<T>(pool: pg.Pool, key: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    // Waiting for another process's step is not a stuck lock: as long as it takes.
    await client.query('set lock_timeout = 0');
    await client.query('select pg_advisory_lock($1)', [key]);
    try {
      return await work(client);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [key]);
      // Back to the pool's lock timeout (the connection's own setting) before the pool reuses it.
      await client.query('reset lock_timeout');
    }
  } catch (error) {
    // A session-level lock lives as long as the connection: one that failed midway is not reused.
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}
