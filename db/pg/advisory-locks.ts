/**
 * The PostgreSQL advisory lock keys this service takes, in one place so no two uses collide.
 * Arbitrary fixed 64-bit numbers (as strings: pg sends them as int8 text); they only need to
 * be distinct from each other and from other applications sharing the database.
 */
export const ADVISORY_LOCKS = {
  /** Held while migrations run: processes starting at once apply them one after another. */
  migrations: '7318450601293450001',
  /** Held by the one runner that sweeps expired jobs and files (server/jobs/pg-store.ts). */
  sweeper: '7318450601293450002',
} as const;
