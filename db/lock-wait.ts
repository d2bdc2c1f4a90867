/**
 * How long a statement waits for a lock another connection holds before it fails (SQLite's
 * busy_timeout, PostgreSQL's lock_timeout; NOTEPAD_DB_LOCK_TIMEOUT_MS): a database held by
 * someone else makes a request fail with the contract's 500, never hang. Its own module, so
 * that each backend's driver module reads it without loading the other's.
 */
export const DEFAULT_LOCK_WAIT_MS = 5000;
