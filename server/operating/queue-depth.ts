/**
 * How many jobs wait to be claimed and how many run now, per kind, straight from the
 * database: what every process sharing it sees. One prepared statement per table, counted
 * over the claim indexes (only unfinished jobs), so a scrape or a summary line costs little
 * however many finished jobs the tables hold.
 */
import type { Db } from '../../db/index.js';
import type { JobKind } from '../job-events.js';

export interface QueueDepth {
  /** Unfinished, and no runner holds a live lease: claimable. */
  waiting: number;
  /** A runner holds a live lease (up to and including its expiry instant, as lease.ts says). */
  running: number;
}

export type QueueDepths = Record<JobKind, QueueDepth>;

export function createQueueDepth(db: Db): (now: number) => QueueDepths {
  const count = (table: 'export_jobs' | 'generation_jobs') => {
    const statement = db.$client.prepare<{ now: number }, QueueDepth>(
      `select count(*) filter (where lease_expires_at is null or lease_expires_at < @now) as waiting,
              count(*) filter (where lease_expires_at >= @now) as running
         from ${table} where status = 'running'`,
    );
    // An aggregate always answers one row.
    return (now: number): QueueDepth => statement.get({ now })!;
  };
  const exportJobs = count('export_jobs');
  const generationJobs = count('generation_jobs');
  return (now) => ({ export: exportJobs(now), generation: generationJobs(now) });
}
