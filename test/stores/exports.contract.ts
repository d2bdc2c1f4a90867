/**
 * The contract of ExportJobStore (server/stores/exports.ts), for any backend: what create's
 * facts say, that it writes exactly what decide returns and nothing when decide throws, and
 * the reads' ownership and expiry filters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newRid } from '../../server/contract/rids.js';
import type { ExportCreateFacts } from '../../server/stores/exports.js';
import type { Stores } from '../../server/stores/index.js';
import { addDocument, addExportJob, addGenerationJob, addTemplate, addUser, finishGenerationJob, HOUR, T0, type BackendFactory, type StoreBackend } from './backend.js';

/** A success commit's bound on the user's bytes that every commit fits under. */
const NO_QUOTA = Number.MAX_SAFE_INTEGER;

const WEEK = 7 * 24 * HOUR;

export function exportJobStoreContract(name: string, open: BackendFactory): void {
  describe(`ExportJobStore on ${name}`, () => {
    let backend: StoreBackend;
    let stores: Stores;
    beforeEach(async () => {
      backend = await open();
      stores = backend.stores;
    });
    afterEach(() => backend.close());

    /** The facts a create of that source sees, read in full. */
    const factsOf = (userId: string, source: Parameters<Stores['exports']['create']>[0]['source'], keyed?: { key: string; requestHash: string }, now = T0) =>
      stores.exports.create({ userId, source, keyed: keyed && { userId, ...keyed }, now }, (facts: ExportCreateFacts) => ({
        answer: {
          earlier: facts.earlier,
          documentGrants: [...facts.documentGrants].sort(),
          documentExists: facts.documentExists,
          generationJob: facts.generationJob,
          usage: facts.usage,
          storageFreesAt: facts.storageFreesAt,
        },
      }));

    it('create: the facts of a document source are the caller’s stored grants and whether it exists', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const doc = await addDocument(stores, ada);
      expect(await factsOf(ada, { type: 'documentSource', documentRid: doc })).toMatchObject({
        earlier: undefined,
        documentGrants: ['export', 'view'],
        documentExists: true,
        generationJob: undefined,
        usage: { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 },
        storageFreesAt: undefined,
      });
      expect(await factsOf(bea, { type: 'documentSource', documentRid: doc })).toMatchObject({ documentGrants: [], documentExists: true });
      expect(await factsOf(ada, { type: 'documentSource', documentRid: newRid('notepad') })).toMatchObject({ documentGrants: [], documentExists: false });
    });

    it('create: the fact of a generation source is the job under that template, whoever made it, until it expires', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const template = await addTemplate(stores, ada);
      const job = await addGenerationJob(stores, bea, template);
      const source = { type: 'generationJobSource' as const, generationJobRid: job, templateRid: template };
      expect((await factsOf(ada, source)).generationJob).toEqual({ rid: job, creatorId: bea, status: 'running', errorMessage: null });
      await finishGenerationJob(stores, job, 'failed');
      expect((await factsOf(ada, source)).generationJob).toMatchObject({ status: 'failed', errorMessage: 'broke' });
      expect((await factsOf(ada, { ...source, templateRid: newRid('notepad-template') })).generationJob).toBeUndefined();
      expect((await factsOf(ada, source, undefined, T0 + HOUR)).generationJob).toBeUndefined();
      expect((await factsOf(ada, { type: 'documentSource', documentRid: newRid('notepad') })).generationJob).toBeUndefined();
    });

    it('create: writes the job decide returns, counted in the creator’s usage, and answers decide’s answer', async () => {
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      const rid = await addExportJob(stores, ada, doc);
      expect(await stores.exports.get(rid, ada, T0)).toEqual({ rid, status: 'running', fileRid: null, errorMessage: null, errorCode: null, errorInstanceId: null, progressStage: null, pagesRendered: 0, version: 0 });
      expect((await factsOf(ada, { type: 'documentSource', documentRid: doc })).usage).toMatchObject({ activeExportJobs: 1 });
    });

    it('create: a decide that throws writes nothing, and its error is what the caller gets', async () => {
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      const rid = newRid('export-job');
      const refused = stores.exports.create({ userId: ada, source: { type: 'documentSource', documentRid: doc }, keyed: { userId: ada, key: 'k', requestHash: 'h' }, now: T0 }, (facts) => {
        expect(facts.documentExists).toBe(true);
        return {
          answer: rid,
          get write(): never {
            throw new Error('refused after reading');
          },
        };
      });
      await expect(refused).rejects.toThrow('refused after reading');
      const thrown = stores.exports.create({ userId: ada, source: { type: 'documentSource', documentRid: doc }, now: T0 }, () => {
        throw new Error('no');
      });
      await expect(thrown).rejects.toThrow('no');
      expect(await stores.exports.get(rid, ada, T0)).toBeUndefined();
      expect(await stores.exports.page({ creatorId: ada, before: { createdAt: Number.MAX_SAFE_INTEGER, rid: '' }, now: T0, status: undefined, limit: 10 })).toEqual([]);
      expect((await factsOf(ada, { type: 'documentSource', documentRid: doc }, { key: 'k', requestHash: 'h' })).earlier).toBeUndefined();
    });

    it('create: the job and its key are one write: a key that cannot be stored (an unknown user) leaves no job either', async () => {
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      const rid = newRid('export-job');
      const source = { type: 'documentSource' as const, documentRid: doc };
      const failing = stores.exports.create({ userId: ada, source, now: T0 }, () => ({
        answer: rid,
        write: {
          job: { rid, creatorId: ada, source, userLocale: 'en-US', userTimezone: 'Etc/UTC', createdAt: T0, expiresAt: T0 + WEEK },
          key: { userId: 'nobody', key: 'k', requestHash: 'h', jobRid: rid, createdAt: T0, expiresAt: T0 + HOUR },
        },
      }));
      await expect(failing).rejects.toThrow();
      expect(await stores.exports.get(rid, ada, T0)).toBeUndefined();
      expect((await factsOf(ada, source)).usage.activeExportJobs).toBe(0);
    });

    it('creates sent together: each sees the ones before it (its user’s usage, its key); one whose write fails or whose decide throws fails alone', async () => {
      // Twice: with a create whose write fails among them (a batching backend then runs the
      // creates again one by one) and without (a batching backend answers all in one go).
      for (const withFailingWrite of [false, true]) {
        const ada = await addUser(stores);
        const bea = await addUser(stores, 'Bea');
        const docs = { [ada]: await addDocument(stores, ada), [bea]: await addDocument(stores, bea) };
        const create = (userId: string, options: { key?: string; unstorableKey?: boolean; refuse?: boolean } = {}) => {
          const rid = newRid('export-job');
          const source = { type: 'documentSource' as const, documentRid: docs[userId]! };
          const keyed = options.key === undefined ? undefined : { userId, key: options.key, requestHash: 'same request' };
          const key = options.unstorableKey ? { userId: 'nobody', key: 'k', requestHash: 'h' } : keyed;
          return stores.exports.create({ userId, source, keyed, now: T0 }, (facts: ExportCreateFacts) => {
            if (options.refuse) throw new Error('refused by decide');
            const seen = facts.usage.activeExportJobs;
            if (facts.earlier) return { answer: { rid: facts.earlier.jobRid, seen, replayed: true } };
            return {
              answer: { rid, seen, replayed: false },
              write: {
                job: { rid, creatorId: userId, source, userLocale: 'en-US', userTimezone: 'Etc/UTC', createdAt: T0, expiresAt: T0 + WEEK },
                key: key && { ...key, jobRid: rid, createdAt: T0, expiresAt: T0 + HOUR },
              },
            };
          });
        };
        // Not awaited one by one: the backend may answer them in one transaction (group commit).
        const outcomes = await Promise.allSettled([
          create(ada),
          create(bea),
          create(ada, { key: 'k1' }),
          create(ada, { refuse: true }),
          create(ada, { key: 'k1' }),
          create(bea, { unstorableKey: withFailingWrite }),
          create(bea),
        ]);
        const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
        expect(values.map((v) => v && { seen: v.seen, replayed: v.replayed })).toEqual([
          { seen: 0, replayed: false },
          { seen: 0, replayed: false },
          { seen: 1, replayed: false },
          undefined,
          { seen: 2, replayed: true },
          withFailingWrite ? undefined : { seen: 1, replayed: false },
          { seen: withFailingWrite ? 1 : 2, replayed: false },
        ]);
        expect(values[4]!.rid).toBe(values[2]!.rid);
        expect(outcomes[3]).toMatchObject({ status: 'rejected', reason: { message: 'refused by decide' } });
        expect(outcomes[5]!.status).toBe(withFailingWrite ? 'rejected' : 'fulfilled');
        for (const i of [0, 2]) expect(await stores.exports.get(values[i]!.rid, ada, T0)).toMatchObject({ status: 'running' });
        for (const i of [1, 6]) expect(await stores.exports.get(values[i]!.rid, bea, T0)).toMatchObject({ status: 'running' });
        const usageOf = (userId: string) =>
          stores.exports.create({ userId, source: { type: 'documentSource', documentRid: docs[userId]! }, now: T0 }, (facts) => ({ answer: facts.usage.activeExportJobs }));
        expect(await usageOf(ada)).toBe(2);
        expect(await usageOf(bea)).toBe(withFailingWrite ? 2 : 3);
      }
    });

    it('create: a decide that answers without a write writes nothing', async () => {
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      expect(await stores.exports.create({ userId: ada, source: { type: 'documentSource', documentRid: doc }, now: T0 }, () => ({ answer: 'replayed' }))).toBe('replayed');
      expect((await factsOf(ada, { type: 'documentSource', documentRid: doc })).usage.activeExportJobs).toBe(0);
    });

    it('create: a key stored beside its job is the next create’s fact, with the job while the caller sees it, until the key expires', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const doc = await addDocument(stores, ada);
      const rid = newRid('export-job');
      const keyed = { userId: ada, key: 'invoice-1', requestHash: 'hash-1' };
      await stores.exports.create({ userId: ada, source: { type: 'documentSource', documentRid: doc }, keyed, now: T0 }, () => ({
        answer: rid,
        write: {
          job: { rid, creatorId: ada, source: { type: 'documentSource', documentRid: doc }, userLocale: 'en-US', userTimezone: 'Etc/UTC', createdAt: T0, expiresAt: T0 + WEEK },
          key: { ...keyed, jobRid: rid, createdAt: T0, expiresAt: T0 + 24 * HOUR },
        },
      }));
      const source = { type: 'documentSource' as const, documentRid: doc };
      expect((await factsOf(ada, source, { key: 'invoice-1', requestHash: 'other' })).earlier).toMatchObject({ requestHash: 'hash-1', jobRid: rid, job: { rid, status: 'running' } });
      // Keys are per user, and without a key there is no earlier request.
      expect((await factsOf(bea, source, { key: 'invoice-1', requestHash: 'hash-1' })).earlier).toBeUndefined();
      expect((await factsOf(ada, source)).earlier).toBeUndefined();
      expect((await factsOf(ada, source, { key: 'invoice-1', requestHash: 'hash-1' }, T0 + 24 * HOUR)).earlier).toBeUndefined();
    });

    it('create: a new key replaces an expired row of the same key', async () => {
      const ada = await addUser(stores);
      const doc = await addDocument(stores, ada);
      const source = { type: 'documentSource' as const, documentRid: doc };
      const createKeyed = (rid: string, now: number) =>
        stores.exports.create({ userId: ada, source, keyed: { userId: ada, key: 'k', requestHash: rid }, now }, () => ({
          answer: rid,
          write: {
            job: { rid, creatorId: ada, source, userLocale: 'en-US', userTimezone: 'Etc/UTC', createdAt: now, expiresAt: now + WEEK },
            key: { userId: ada, key: 'k', requestHash: rid, jobRid: rid, createdAt: now, expiresAt: now + HOUR },
          },
        }));
      const first = await createKeyed(newRid('export-job'), T0);
      const second = await createKeyed(newRid('export-job'), T0 + HOUR);
      expect((await factsOf(ada, source, { key: 'k', requestHash: '' }, T0 + HOUR)).earlier).toMatchObject({ jobRid: second, requestHash: second });
      expect(second).not.toBe(first);
    });

    it('get: only the creator’s job, and only before it expires', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const rid = await addExportJob(stores, ada, await addDocument(stores, ada));
      expect(await stores.exports.get(rid, ada, T0 + WEEK - 1)).toMatchObject({ rid });
      expect(await stores.exports.get(rid, bea, T0)).toBeUndefined();
      expect(await stores.exports.get(rid, ada, T0 + WEEK)).toBeUndefined();
      expect(await stores.exports.get(newRid('export-job'), ada, T0)).toBeUndefined();
    });

    it('changes: the jobs asked for whoever made them (what their watchers read), until each expires; unknown ones are left out', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const first = await addExportJob(stores, ada, await addDocument(stores, ada));
      const second = await addExportJob(stores, bea, await addDocument(stores, bea), T0 + 1);
      const unknown = newRid('export-job');
      const byRid = async (rids: string[], now: number) => new Map((await stores.exports.changes(rids, now)).map((row) => [row.rid, row]));
      const read = await byRid([first, unknown, second], T0 + 1);
      expect([...read.keys()].sort()).toEqual([first, second].sort());
      expect(read.get(first)).toEqual(await stores.exports.get(first, ada, T0 + 1));
      expect(read.get(second)).toEqual(await stores.exports.get(second, bea, T0 + 1));
      await stores.jobs.claimNext('export', { owner: 'runner', now: T0 + 1, leaseMs: 60_000 });
      expect((await byRid([first], T0 + 2)).get(first)).toMatchObject({ rid: first, status: 'running', progressStage: 'rendering', version: 1 });
      // The first expires a millisecond before the second.
      expect([...(await byRid([first, second], T0 + WEEK)).keys()]).toEqual([second]);
      expect(await stores.exports.changes([], T0)).toEqual([]);
    });

    it('page: the creator’s unexpired jobs, newest first, strictly before the position, of one status or any, at most limit', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const doc = await addDocument(stores, ada);
      const jobs = [];
      for (let i = 0; i < 4; i++) jobs.push(await addExportJob(stores, ada, doc, T0 + i));
      await addExportJob(stores, bea, await addDocument(stores, bea), T0 + 10);
      const all = { creatorId: ada, before: { createdAt: Number.MAX_SAFE_INTEGER, rid: '' }, now: T0 + 10, status: undefined, limit: 10 };
      expect((await stores.exports.page(all)).map((row) => row.rid)).toEqual([...jobs].reverse());
      expect(await stores.exports.page({ ...all, limit: 2 })).toEqual([
        expect.objectContaining({ rid: jobs[3], createdAt: T0 + 3 }),
        expect.objectContaining({ rid: jobs[2], createdAt: T0 + 2 }),
      ]);
      expect((await stores.exports.page({ ...all, before: { createdAt: T0 + 2, rid: jobs[2]! } })).map((row) => row.rid)).toEqual([jobs[1], jobs[0]]);
      await stores.exports.cancel({ rid: jobs[1]!, creatorId: ada, now: T0 + 10, errorMessage: 'stop' });
      expect((await stores.exports.page({ ...all, status: 'failed' })).map((row) => row.rid)).toEqual([jobs[1]]);
      expect((await stores.exports.page({ ...all, status: 'succeeded' })).map((row) => row.rid)).toEqual([]);
      expect(await stores.exports.page({ ...all, now: T0 + WEEK + 2 })).toEqual([expect.objectContaining({ rid: jobs[3] })]);
    });

    it('cancel: ends the creator’s running job failed with CANCELLED and takes its lease; never another’s, a finished or an expired one', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const doc = await addDocument(stores, ada);
      const rid = await addExportJob(stores, ada, doc);
      const claimed = await stores.jobs.claimNext('export', { owner: 'runner', now: T0, leaseMs: 60_000 });
      expect(claimed?.rid).toBe(rid);
      expect(await stores.exports.cancel({ rid, creatorId: bea, now: T0, errorMessage: 'not yours' })).toBe(false);
      expect(await stores.exports.cancel({ rid, creatorId: ada, now: T0, errorMessage: 'stopped' })).toBe(true);
      expect(await stores.exports.get(rid, ada, T0)).toEqual({ rid, status: 'failed', fileRid: null, errorMessage: 'stopped', errorCode: 'CANCELLED', errorInstanceId: null, progressStage: 'rendering', pagesRendered: 0, version: 2 });
      // The attempt that held it can no longer renew.
      expect(await stores.jobs.renew('export', { rid, owner: 'runner', attempt: claimed!.attempts }, T0, 60_000)).toBe(false);
      expect(await stores.exports.cancel({ rid, creatorId: ada, now: T0, errorMessage: 'again' })).toBe(false);
      const expiring = await addExportJob(stores, ada, doc);
      expect(await stores.exports.cancel({ rid: expiring, creatorId: ada, now: T0 + WEEK, errorMessage: 'late' })).toBe(false);
    });

    it('file: a file that has not expired, whoever owns it (the service decides)', async () => {
      const ada = await addUser(stores);
      const rid = await addExportJob(stores, ada, await addDocument(stores, ada));
      const job = (await stores.jobs.claimNext('export', { owner: 'runner', now: T0, leaseMs: 60_000 }))!;
      const fileRid = newRid('file');
      const file = { rid: fileRid, mediaType: 'application/pdf', filename: 'a.pdf', sizeBytes: 3, sha256: 'abc', storageKey: 'key.pdf' };
      expect(await stores.jobs.commitExportSuccess(job, { rid, owner: 'runner', attempt: job.attempts }, T0, file, NO_QUOTA)).toEqual({ outcome: 'committed' });
      expect(await stores.exports.file(fileRid, T0)).toEqual({ ...file, exportJobRid: rid, ownerId: ada, createdAt: T0, expiresAt: T0 + WEEK });
      expect(await stores.exports.file(fileRid, T0 + WEEK)).toBeUndefined();
      expect(await stores.exports.file(newRid('file'), T0)).toBeUndefined();
      expect(await stores.exports.get(rid, ada, T0)).toMatchObject({ status: 'succeeded', fileRid });
    });
  });
}
