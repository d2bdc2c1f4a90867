/**
 * One sweeper at a time across every runner sharing a PostgreSQL database: the sweep runs
 * only in the process that holds the sweeper advisory lock (db/pg/advisory-locks.ts); the
 * others skip that turn, and any of them takes over once the holder is gone. A try-lock,
 * never a wait: a sweep skipped is taken up by the next period's.
 */
import type pg from 'pg';
import { ADVISORY_LOCKS } from '../../db/pg/advisory-locks.js';

export type SweepTurn<T> = { swept: true; result: T } | { swept: false };

/**
 * Runs `sweep` if this process gets the sweeper lock, and frees it after. The lock is held
 * by one pooled connection for the sweep's length (a session lock: the sweep's own
 * statements run on other connections, in their own transactions); should the connection
 * fail, it is discarded, and the server frees the lock with it.
 */
export async function withSweeperLock<T>(pool: pg.Pool, sweep: () => Promise<T>): Promise<SweepTurn<T>> {
  const client = await pool.connect();
  // A connection that failed a lock statement may still hold the lock: never hand it out again.
  let discard = false;
  try {
    let locked: boolean;
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [ADVISORY_LOCKS.sweeper]);
      locked = rows[0]?.locked === true;
    } catch (error) {
      discard = true;
      throw error;
    }
    if (!locked) return { swept: false };
    try {
      return { swept: true, result: await sweep() };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [ADVISORY_LOCKS.sweeper]).catch(() => {
        discard = true;
      });
    }
  } finally {
    client.release(discard);
  }
}
