/**
 * The contract of GenerationStore (server/stores/generations.ts), for any backend: generate's
 * facts and writes, the live lookup's filters, saveDocument's facts, its write with the
 * creator's grants, and a taken name reported, never thrown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS_BY_KIND } from '../../server/contract/grants.js';
import { newRid } from '../../server/contract/rids.js';
import type { GenerateFacts, SaveDocumentFacts } from '../../server/stores/generations.js';
import type { Stores } from '../../server/stores/index.js';
import { addDocument, addFolder, addGenerationJob, addTemplate, addUser, CONTENT, finishGenerationJob, HOUR, T0, type BackendFactory, type StoreBackend } from './backend.js';

export function generationStoreContract(name: string, open: BackendFactory): void {
  describe(`GenerationStore on ${name}`, () => {
    let backend: StoreBackend;
    let stores: Stores;
    beforeEach(async () => {
      backend = await open();
      stores = backend.stores;
    });
    afterEach(() => backend.close());

    const factsOf = (userId: string, templateRid: string, templateVersion?: number, keyed?: { key: string; requestHash: string }) =>
      stores.generations.create({ userId, templateRid, templateVersion, keyed: keyed && { userId, ...keyed }, now: T0 }, (facts: GenerateFacts) => ({
        answer: { earlier: facts.earlier, templateGrants: [...facts.templateGrants].sort(), templateExists: facts.templateExists, version: facts.version, usage: facts.usage },
      }));

    it('create: the facts are the caller’s grants on the template, whether it exists, and the version asked for or the latest', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const template = await addTemplate(stores, ada);
      const parameters = [{ name: 'who', type: 'string' as const, required: true }];
      await stores.directory.publishTemplateVersion(template, () => ({ answer: 2, write: { version: 2, content: CONTENT, parameters, publishedAt: T0 } }));
      expect(await factsOf(ada, template)).toMatchObject({ earlier: undefined, templateGrants: ['generate', 'view'], templateExists: true, version: { version: 2, parameters } });
      expect((await factsOf(ada, template, 1)).version).toEqual({ version: 1, parameters: [] });
      expect((await factsOf(ada, template, 3)).version).toBeUndefined();
      expect(await factsOf(bea, template)).toMatchObject({ templateGrants: [], templateExists: true });
      expect(await factsOf(ada, newRid('notepad-template'))).toMatchObject({ templateGrants: [], templateExists: false, version: undefined });
    });

    it('create: writes the running job decide returns, counted in the creator’s usage, with its key', async () => {
      const ada = await addUser(stores);
      const template = await addTemplate(stores, ada);
      const rid = newRid('generation-job');
      const keyed = { userId: ada, key: 'g-1', requestHash: 'hash' };
      await stores.generations.create({ userId: ada, templateRid: template, templateVersion: undefined, keyed, now: T0 }, () => ({
        answer: rid,
        write: {
          job: { rid, templateRid: template, templateVersion: 1, creatorId: ada, parameters: { who: { type: 'string', value: 'Ada' } }, createdAt: T0, expiresAt: T0 + HOUR },
          key: { ...keyed, jobRid: rid, createdAt: T0, expiresAt: T0 + HOUR },
        },
      }));
      expect(await stores.generations.live(rid, template, T0)).toEqual({ rid, creatorId: ada, status: 'running', errorMessage: null });
      expect(await factsOf(ada, template, undefined, { key: 'g-1', requestHash: 'other' })).toMatchObject({
        earlier: { requestHash: 'hash', jobRid: rid },
        usage: { activeGenerationJobs: 1 },
      });
      const claimed = await stores.jobs.claimGeneration(rid, { owner: 'suite', now: T0, leaseMs: 1000 });
      expect(claimed?.parameters).toEqual({ who: { type: 'string', value: 'Ada' } });
    });

    it('create: earlier is the caller’s own key until it expires, and a new key replaces an expired row of the same key', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const template = await addTemplate(stores, ada);
      const createKeyed = (rid: string, now: number) =>
        stores.generations.create({ userId: ada, templateRid: template, templateVersion: undefined, keyed: { userId: ada, key: 'k', requestHash: rid }, now }, (facts) => ({
          answer: facts.earlier,
          write: {
            job: { rid, templateRid: template, templateVersion: 1, creatorId: ada, parameters: {}, createdAt: now, expiresAt: now + 2 * HOUR },
            key: { userId: ada, key: 'k', requestHash: rid, jobRid: rid, createdAt: now, expiresAt: now + HOUR },
          },
        }));
      const earlierAt = (userId: string, now: number) =>
        stores.generations.create({ userId, templateRid: template, templateVersion: undefined, keyed: { userId, key: 'k', requestHash: '' }, now }, (facts) => ({ answer: facts.earlier }));
      const first = newRid('generation-job');
      expect(await createKeyed(first, T0)).toBeUndefined();
      expect(await earlierAt(ada, T0 + HOUR - 1)).toEqual({ requestHash: first, jobRid: first });
      // Keys are per user, and one past its expiry is no earlier request.
      expect(await earlierAt(bea, T0)).toBeUndefined();
      expect(await earlierAt(ada, T0 + HOUR)).toBeUndefined();
      // Its row is still there (not swept): the next create of the key replaces it.
      const second = newRid('generation-job');
      expect(await createKeyed(second, T0 + HOUR)).toBeUndefined();
      expect(await earlierAt(ada, T0 + HOUR)).toEqual({ requestHash: second, jobRid: second });
    });

    it('create: a decide that throws writes nothing; a key that cannot be stored leaves no job either', async () => {
      const ada = await addUser(stores);
      const template = await addTemplate(stores, ada);
      await expect(
        stores.generations.create({ userId: ada, templateRid: template, templateVersion: undefined, now: T0 }, (facts) => {
          expect(facts.templateExists).toBe(true);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      const rid = newRid('generation-job');
      await expect(
        stores.generations.create({ userId: ada, templateRid: template, templateVersion: undefined, now: T0 }, () => ({
          answer: rid,
          write: {
            job: { rid, templateRid: template, templateVersion: 1, creatorId: ada, parameters: {}, createdAt: T0, expiresAt: T0 + HOUR },
            key: { userId: 'nobody', key: 'k', requestHash: 'h', jobRid: rid, createdAt: T0, expiresAt: T0 + HOUR },
          },
        })),
      ).rejects.toThrow();
      expect(await stores.generations.live(rid, template, T0)).toBeUndefined();
      expect((await factsOf(ada, template)).usage.activeGenerationJobs).toBe(0);
    });

    it('live: the job under that template until it expires, whoever created it', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const template = await addTemplate(stores, ada);
      const rid = await addGenerationJob(stores, bea, template);
      expect(await stores.generations.live(rid, template, T0 + HOUR - 1)).toMatchObject({ rid, creatorId: bea });
      expect(await stores.generations.live(rid, newRid('notepad-template'), T0)).toBeUndefined();
      expect(await stores.generations.live(rid, template, T0 + HOUR)).toBeUndefined();
      await finishGenerationJob(stores, rid, 'succeeded');
      expect(await stores.generations.live(rid, template, T0)).toMatchObject({ status: 'succeeded' });
    });

    describe('saveDocument', () => {
      const save = (userId: string, templateRid: string, generationJobRid: string, parentFolderRid: string, title = 'Saved') =>
        stores.generations.saveDocument({ userId, templateRid, generationJobRid, parentFolderRid, now: T0 }, (facts: SaveDocumentFacts) => {
          if (!facts.content) throw new Error('no content');
          const rid = newRid('notepad');
          return {
            answer: { rid, facts: { job: facts.job, folderGrants: [...facts.folderGrants].sort(), folderExists: facts.folderExists, templateTitle: facts.templateTitle } },
            write: { rid, title, content: facts.content, ownerId: userId, parentFolderRid, createdAt: T0, creatorGrants: ACTIONS_BY_KIND.document },
          };
        });

      it('reads the job, its content, the folder and the template title, and writes the document with its creator’s grants', async () => {
        const ada = await addUser(stores);
        const template = await addTemplate(stores, ada, 'Invoice');
        const folder = await addFolder(stores, ada);
        const job = await addGenerationJob(stores, ada, template);
        await finishGenerationJob(stores, job, 'succeeded');
        const saved = await save(ada, template, job, folder);
        expect(saved).toEqual({
          ok: true,
          value: { rid: expect.any(String), facts: { job: expect.objectContaining({ rid: job, status: 'succeeded' }), folderGrants: ['create', 'view'], folderExists: true, templateTitle: 'Invoice' } },
        });
        if (!saved.ok) return;
        expect((await stores.directory.grantsOn(ada, saved.value.rid)).sort()).toEqual(['export', 'view']);
        // The saved document is a source like any other.
        const facts = await stores.exports.create({ userId: ada, source: { type: 'documentSource', documentRid: saved.value.rid }, now: T0 }, (f) => ({ answer: f.documentExists }));
        expect(facts).toBe(true);
      });

      it('facts of what is not there read as nothing: no job, no content, a stranger’s folder', async () => {
        const ada = await addUser(stores);
        const bea = await addUser(stores, 'Bea');
        const template = await addTemplate(stores, ada);
        const running = await addGenerationJob(stores, ada, template);
        const facts = await stores.generations.saveDocument(
          { userId: bea, templateRid: template, generationJobRid: newRid('generation-job'), parentFolderRid: await addFolder(stores, ada), now: T0 },
          (f) => ({ answer: { job: f.job, content: f.content, folderGrants: f.folderGrants, folderExists: f.folderExists } }),
        );
        expect(facts).toEqual({ ok: true, value: { job: undefined, content: null, folderGrants: [], folderExists: true } });
        const runningFacts = await stores.generations.saveDocument(
          { userId: ada, templateRid: template, generationJobRid: running, parentFolderRid: 'ri.compass.main.folder.none', now: T0 },
          (f) => ({ answer: { content: f.content, folderExists: f.folderExists } }),
        );
        expect(runningFacts).toEqual({ ok: true, value: { content: null, folderExists: false } });
      });

      it('a name already in the folder is reported, and nothing is written', async () => {
        const ada = await addUser(stores);
        const template = await addTemplate(stores, ada);
        const folder = await addFolder(stores, ada);
        await addDocument(stores, ada, { title: 'Taken', parentFolderRid: folder });
        const job = await addGenerationJob(stores, ada, template);
        await finishGenerationJob(stores, job, 'succeeded');
        const taken = await save(ada, template, job, folder, 'Taken');
        expect(taken).toEqual({ ok: false, nameTaken: true });
        expect((await save(ada, template, job, folder, 'Free')).ok).toBe(true);
      });

      it('a decide that throws writes nothing', async () => {
        const ada = await addUser(stores);
        const template = await addTemplate(stores, ada);
        const folder = await addFolder(stores, ada);
        const job = await addGenerationJob(stores, ada, template);
        await expect(save(ada, template, job, folder, 'Never')).rejects.toThrow('no content');
        await finishGenerationJob(stores, job, 'succeeded');
        // Had it been written, the name would now be taken.
        expect((await save(ada, template, job, folder, 'Never')).ok).toBe(true);
      });
    });
  });
}
