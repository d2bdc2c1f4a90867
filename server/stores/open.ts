/**
 * Opens the configured backends for a process (NOTEPAD_DB, NOTEPAD_FILES; docs/SCALING.md):
 * SQLite or PostgreSQL for the stores, a directory or an S3 bucket for the files. The one
 * place main.ts and cli.ts choose; neither sees which they got.
 */
import type { DatabaseConfig, FilesConfig } from '../config.js';
import { createFileStore, type FileStore } from '../files/store.js';
import type { Log } from '../log.js';
import type { Backend } from './index.js';
import { openSqliteBackend } from './sqlite/index.js';

// PostgreSQL's and S3's modules (pg, the AWS SDK) are loaded only when chosen: a SQLite
// process starts as fast as before (process tests wait for the server to listen).

export async function openBackend(database: DatabaseConfig, log?: Log): Promise<Backend> {
  if (database.kind === 'sqlite') return openSqliteBackend(database.path, { busyTimeoutMs: database.lockTimeoutMs });
  const { openPgBackend } = await import('./pg/index.js');
  return openPgBackend(database.url, {
    pool: database.poolSize,
    lockTimeoutMs: database.lockTimeoutMs,
    // An idle connection dropped (the server restarted): the pool opens a new one when asked.
    onIdleError: (error) => log?.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });
}

export async function openFiles(files: FilesConfig): Promise<FileStore> {
  if (files.kind === 'local') return createFileStore(files.dir);
  const { createS3FileStore } = await import('../files/s3-store.js');
  return createS3FileStore(files);
}
