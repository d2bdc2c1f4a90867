/**
 * The SQLite backend: every store over one better-sqlite3 connection, with the statements
 * the stores share and one group committer (write-batch.ts) for export-job creates.
 */
import { openDatabase, type Db, type OpenDatabaseOptions } from '../../../db/index.js';
import { createSqliteJobStore } from '../../jobs/sqlite-store.js';
import { startWalCheckpointer } from '../../threads/wal-checkpointer.js';
import type { Backend, Stores } from '../index.js';
import { createSqliteAuthStore } from './auth.js';
import { createSqliteDirectoryStore } from './directory.js';
import { createSqliteExportJobStore } from './exports.js';
import { createSqliteGenerationStore } from './generations.js';
import { createSqliteOperatingStore } from './operating.js';
import { createSharedStatements } from './shared.js';
import { createWriteBatcher } from './write-batch.js';

/** The stores over an open connection (one per connection: they prepare their statements on it). */
export function createSqliteStores(db: Db): Stores {
  const shared = createSharedStatements(db);
  return {
    exports: createSqliteExportJobStore(db, shared, createWriteBatcher(db.$client)),
    generations: createSqliteGenerationStore(db, shared),
    directory: createSqliteDirectoryStore(db, shared),
    auth: createSqliteAuthStore(db, shared),
    operating: createSqliteOperatingStore(db),
    jobs: createSqliteJobStore(db),
  };
}

/**
 * Opens (creating and migrating if needed) the database file at `path` for a process: its
 * stores, the WAL checkpointer to run while it serves, and closing.
 */
export function openSqliteBackend(path: string, options: OpenDatabaseOptions = {}): Backend {
  const database = openDatabase(path, options);
  return {
    stores: createSqliteStores(database.db),
    startMaintenance: (log) => startWalCheckpointer({ sqlite: database.sqlite, log }),
    close: async () => database.close(),
  };
}
