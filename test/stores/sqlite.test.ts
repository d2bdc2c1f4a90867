/**
 * The store contract suites on SQLite: each test gets a fresh database file with the real
 * migrations, behind createSqliteStores, as the service builds it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteBackend } from '../../server/stores/sqlite/index.js';
import type { BackendFactory } from './backend.js';
import { authStoreContract } from './auth.contract.js';
import { directoryStoreContract } from './directory.contract.js';
import { exportJobStoreContract } from './exports.contract.js';
import { generationStoreContract } from './generations.contract.js';
import { operatingStoreContract } from './operating.contract.js';

const sqlite: BackendFactory = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-stores-'));
  const backend = openSqliteBackend(join(dir, 'notepad.db'));
  return {
    stores: backend.stores,
    close: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

exportJobStoreContract('SQLite', sqlite);
generationStoreContract('SQLite', sqlite);
directoryStoreContract('SQLite', sqlite);
authStoreContract('SQLite', sqlite);
operatingStoreContract('SQLite', sqlite);
