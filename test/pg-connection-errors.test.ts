/**
 * A connection that fails while checked out of the pool (the server restarted or ended the
 * session between two statements of a transaction, or while the sweeper holds its lock)
 * must not take the process down: its error reaches the backend's error callback, the next
 * statement on it fails, and the pool carries on with a new connection. Without a listener
 * of our own, pg-pool leaves such a connection's 'error' event unheard, which is an
 * uncaught exception (vitest fails the run on one).
 */
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../db/pg/index.js';
import { freshPostgresDatabase } from './backends.js';

let fresh: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let database: PostgresDatabase;
const reported: Error[] = [];

beforeAll(async () => {
  fresh = await freshPostgresDatabase();
  database = await openPostgres(fresh.url, { poolSize: 2, onIdleError: (error) => reported.push(error) });
});
afterAll(async () => {
  await database.close();
  await fresh.drop();
});

it('a checked-out connection whose session is ended is reported, not a crash, and the pool serves on', async () => {
  const client = await database.pool.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const admin = new pg.Client({ connectionString: fresh.url });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
  } finally {
    await admin.end();
  }
  for (const until = Date.now() + 10_000; reported.length === 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(reported.length).toBeGreaterThan(0);
  await expect(client.query('select 1')).rejects.toThrow();
  client.release(true);
  expect((await database.db.execute(sql`select 1 as one`)).rows).toEqual([{ one: 1 }]);
});
