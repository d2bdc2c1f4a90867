/** The contract of OperatingStore (server/stores/operating.ts), for any backend: liveness, schema, queue depth, sizes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stores } from '../../server/stores/index.js';
import { addDocument, addExportJob, addGenerationJob, addTemplate, addUser, T0, type BackendFactory, type StoreBackend } from './backend.js';

export function operatingStoreContract(name: string, open: BackendFactory): void {
  describe(`OperatingStore on ${name}`, () => {
    let backend: StoreBackend;
    let stores: Stores;
    beforeEach(async () => {
      backend = await open();
      stores = backend.stores;
    });
    afterEach(() => backend.close());

    it('answers a ping, and a freshly migrated database has exactly this build’s migrations', async () => {
      await expect(stores.operating.ping()).resolves.toBeUndefined();
      expect(await stores.operating.migrationProblems()).toBeUndefined();
    });

    it('counts jobs waiting and running per kind; a lapsed lease is waiting again, finished jobs are neither', async () => {
      const empty = { waiting: 0, running: 0 };
      expect(await stores.operating.queueDepth(T0)).toEqual({ export: empty, generation: empty });
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      await addExportJob(stores, ada, doc);
      await addExportJob(stores, ada, doc, T0 + 1);
      const cancelled = await addExportJob(stores, ada, doc, T0 + 2);
      await stores.exports.cancel({ rid: cancelled, creatorId: ada, now: T0, errorMessage: 'stop' });
      await addGenerationJob(stores, ada, await addTemplate(stores, ada));
      await stores.jobs.claimNext('export', { owner: 'runner', now: T0, leaseMs: 1000 });
      expect(await stores.operating.queueDepth(T0 + 1000)).toEqual({ export: { waiting: 1, running: 1 }, generation: { waiting: 1, running: 0 } });
      expect(await stores.operating.queueDepth(T0 + 1001)).toEqual({ export: { waiting: 2, running: 0 }, generation: { waiting: 1, running: 0 } });
    });

    it('reports sizes as non-negative byte counts', async () => {
      const sizes = await stores.operating.sizes();
      expect(sizes.databaseBytes).toBeGreaterThanOrEqual(0);
      expect(sizes.walBytes).toBeGreaterThanOrEqual(0);
    });
  });
}
