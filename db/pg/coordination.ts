/**
 * Tables only the PostgreSQL backend has: how processes on many machines coordinate, not
 * what the service stores. They have no SQLite counterpart (one process, or processes that
 * poll one file), so test/pg-schema.test-d.ts, which checks that the two schemas mirror
 * each other, leaves them out. Migrations: migrations-pg/ with schema.ts (drizzle.pg.config.ts).
 */
import { bigint, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

/**
 * The export jobs that some API node follows now (an event stream or a `watch`), one row per
 * job and node: the trigger of migrations-pg/0006 NOTIFYs a change only of a job that has a
 * row here, so a job nobody follows commits without taking PostgreSQL's notify lock
 * (server/stores/pg/export-job-watches.ts keeps the rows).
 */
export const exportJobWatches = pgTable(
  'export_job_watches',
  {
    rid: text('rid').notNull(),
    /** The API node (process) that follows it: its rows go when it stops following, or expire if it dies. */
    node: text('node').notNull(),
    /** Epoch ms; the node moves it on while it follows the job, any node deletes the row once past. */
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.rid, t.node] }), index('export_job_watches_node_idx').on(t.node), index('export_job_watches_expiry_idx').on(t.expiresAt)],
);
