/**
 * What every JobStore (server/jobs/store.ts) does, whatever the backend: run by
 * test/job-stores.test.ts against SQLite (sqlite-store.ts) and PostgreSQL (pg-store.ts).
 * Every call is awaited, so the suite serves today's synchronous store and the
 * Promise-returning one alike. Rows are seeded through the backend's own Drizzle schema
 * (the two schemas' insert types are the same: test/pg-schema.test-d.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as schema from '../../db/schema.js';
import type { Content } from '../../server/contract/content.js';
import type { ExportJobRow, JobStore } from '../../server/jobs/store.js';

export type Rows = {
  users: typeof schema.users.$inferInsert;
  documents: typeof schema.documents.$inferInsert;
  templates: typeof schema.templates.$inferInsert;
  templateVersions: typeof schema.templateVersions.$inferInsert;
  exportJobs: typeof schema.exportJobs.$inferInsert;
  generationJobs: typeof schema.generationJobs.$inferInsert;
  files: typeof schema.files.$inferInsert;
  idempotencyKeys: typeof schema.idempotencyKeys.$inferInsert;
};

export interface JobStoreHarness {
  store: JobStore;
  insert<T extends keyof Rows>(table: T, rows: Array<Rows[T]>): Promise<void>;
  exportJob(rid: string): Promise<ExportJobRow | undefined>;
  cleanup(): Promise<void>;
}

const LEASE_MS = 1_000;
const CONTENT = [{ type: 'paragraph', children: [{ type: 'text', text: 'Hello' }] }] as unknown as Content;
/** No storage quota to speak of: every commit fits. */
const NO_QUOTA = Number.MAX_SAFE_INTEGER;
const FILE = { mediaType: 'application/pdf', filename: 'a.pdf', sizeBytes: 100, sha256: 'ab'.repeat(32) };

export function jobStoreContract(name: string, make: () => Promise<JobStoreHarness>): void {
  describe(`JobStore contract: ${name}`, () => {
    let h: JobStoreHarness;
    let store: JobStore;
    const lease = (owner: string, now: number) => ({ owner, now, leaseMs: LEASE_MS });

    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function user(id: string) {
      await h.insert('users', [{ id, name: id, createdAt: 0 }]);
      await h.insert('documents', [{ rid: `doc-${id}`, title: `Doc of ${id}`, content: CONTENT, ownerId: id, createdAt: 0, updatedAt: 0 }]);
    }
    async function exportJob(creatorId: string, createdAt: number, extra: Partial<Rows['exportJobs']> = {}): Promise<string> {
      const rid = `ri.notepad.main.export-job.${randomUUID()}`;
      await h.insert('exportJobs', [
        {
          rid,
          creatorId,
          sourceType: 'documentSource',
          documentRid: `doc-${creatorId}`,
          userLocale: 'en-US',
          userTimezone: 'UTC',
          status: 'running',
          createdAt,
          expiresAt: 1_000_000,
          ...extra,
        },
      ]);
      return rid;
    }
    const attemptOf = (job: { rid: string; leaseOwner: string | null; attempts: number }) => ({ rid: job.rid, owner: job.leaseOwner!, attempt: job.attempts });

    it('claims the oldest claimable job, leases it, and nothing once all are held', async () => {
      await user('a');
      const first = await exportJob('a', 1);
      const second = await exportJob('a', 2);
      const claimed = await store.claimNext('export', lease('r1', 100));
      expect(claimed).toMatchObject({ rid: first, leaseOwner: 'r1', leaseExpiresAt: 100 + LEASE_MS, attempts: 1, startedAt: 100 });
      expect((await store.claimNext('export', lease('r2', 100)))?.rid).toBe(second);
      expect(await store.claimNext('export', lease('r3', 100))).toBeUndefined();
      expect(await store.claimNext('generation', lease('r3', 100))).toBeUndefined();
    });

    it('picks fairly: fewest jobs rendering, then least recently served, then oldest', async () => {
      await user('a');
      await user('b');
      await user('c');
      const a1 = await exportJob('a', 1);
      const a2 = await exportJob('a', 2);
      const a3 = await exportJob('a', 3);
      const b1 = await exportJob('b', 10);
      // Nobody rendering, nobody served: the oldest job's user.
      expect((await store.claimNext('export', lease('r', 100)))?.rid).toBe(a1);
      // a renders one: b (none rendering) goes first, however many a queued.
      expect((await store.claimNext('export', lease('r', 100)))?.rid).toBe(b1);
      // Both render one and b has nothing left: a's next.
      expect((await store.claimNext('export', lease('r', 100)))?.rid).toBe(a2);
      // A newcomer rendering nothing beats a's queue.
      const c1 = await exportJob('c', 50);
      expect((await store.claimNext('export', lease('r', 100)))?.rid).toBe(c1);
      expect((await store.claimNext('export', lease('r', 100)))?.rid).toBe(a3);
    });

    it("an express claim ('idle-users') takes only a job of a user with nothing rendering", async () => {
      await user('a');
      await user('b');
      await exportJob('a', 1);
      await exportJob('a', 2);
      const b1 = await exportJob('b', 3);
      expect(await store.claimNext('export', lease('r', 100))).toBeDefined();
      // a renders one, so a's second job waits for the ordinary slots; b's is taken.
      expect((await store.claimNext('export', lease('x', 100), 'idle-users'))?.rid).toBe(b1);
      expect(await store.claimNext('export', lease('x', 100), 'idle-users')).toBeUndefined();
      expect(await store.claimNext('export', lease('r', 100), 'anyone')).toBeDefined();
    });

    it('between users rendering equally, the one served least recently goes first', async () => {
      await user('a');
      await user('b');
      await exportJob('a', 1);
      await exportJob('b', 2);
      const a1 = (await store.claimNext('export', lease('r', 100)))!;
      const b1 = (await store.claimNext('export', lease('r', 200)))!;
      const failure = { errorCode: 'INTERNAL' as const, message: 'x', errorInstanceId: 'i' };
      expect(await store.failExport(attemptOf(a1), 250, failure)).toBe(true);
      expect(await store.failExport(attemptOf(b1), 250, failure)).toBe(true);
      // Nobody renders; a was served at 100, b at 200: a's turn, though b's job is older.
      const b2 = await exportJob('b', 3);
      const a2 = await exportJob('a', 4);
      expect((await store.claimNext('export', lease('r', 300)))?.rid).toBe(a2);
      expect((await store.claimNext('export', lease('r', 300)))?.rid).toBe(b2);
    });

    it('a lease is live up to its expiry instant; then the same claim takes the job over as a new attempt', async () => {
      await user('a');
      const rid = await exportJob('a', 1);
      const first = (await store.claimNext('export', lease('r1', 0)))!;
      expect(await store.claimNext('export', lease('r2', LEASE_MS))).toBeUndefined();
      const second = (await store.claimNext('export', lease('r2', LEASE_MS + 1)))!;
      expect(second).toMatchObject({ rid, leaseOwner: 'r2', attempts: 2, startedAt: 0 });

      // The first attempt can no longer write anything.
      const stale = attemptOf(first);
      expect(await store.renew('export', stale, LEASE_MS + 2, LEASE_MS)).toBe(false);
      expect(await store.release('export', stale, LEASE_MS + 2)).toBe(false);
      expect(await store.failExport(stale, LEASE_MS + 2, { errorCode: 'INTERNAL', message: 'x', errorInstanceId: 'i' })).toBe(false);
      const commit = await store.commitExportSuccess(first, stale, LEASE_MS + 2, { rid: 'f-stale', storageKey: 'k-stale', ...FILE }, NO_QUOTA);
      expect(commit).toEqual({ outcome: 'lease-lost' });
      expect(await store.fileRowExists('k-stale')).toBe(false);

      // The live one can.
      const live = attemptOf(second);
      expect(await store.renew('export', live, LEASE_MS + 2, LEASE_MS)).toBe(true);
      expect(await store.exportAttemptState(rid)).toEqual({ status: 'running', attempts: 2, leaseExpiresAt: 2 * LEASE_MS + 2 });
      expect(await store.failExport(live, LEASE_MS + 3, { errorCode: 'TIMEOUT', message: 'too slow', errorInstanceId: 'i1' })).toBe(true);
      expect(await h.exportJob(rid)).toMatchObject({ status: 'failed', errorCode: 'TIMEOUT', errorMessage: 'too slow', leaseOwner: null, leaseExpiresAt: null });
      // Once ended, nothing more.
      expect(await store.renew('export', live, LEASE_MS + 4, LEASE_MS)).toBe(false);
    });

    it('release gives the job back at once without counting the attempt', async () => {
      await user('a');
      const rid = await exportJob('a', 1);
      const claimed = (await store.claimNext('export', lease('r1', 0)))!;
      expect(await store.release('export', attemptOf(claimed), 10)).toBe(true);
      expect(await store.claimNext('export', lease('r2', 11))).toMatchObject({ rid, leaseOwner: 'r2', attempts: 1 });
    });

    it('progress: a claim starts it and moves the version on; only the live attempt writes it; release queues it again; an outcome moves the version once more', async () => {
      await user('a');
      const rid = await exportJob('a', 1);
      const first = (await store.claimNext('export', lease('r1', 0)))!;
      expect(await h.exportJob(rid)).toMatchObject({ progressStage: 'rendering', pagesRendered: 0, version: 1 });
      expect(await store.writeProgress(attemptOf(first), 5, { stage: 'rendering', pagesRendered: 3 })).toBe(true);
      expect(await h.exportJob(rid)).toMatchObject({ progressStage: 'rendering', pagesRendered: 3, version: 2 });
      // Another owner, or the same owner's earlier attempt number, writes nothing.
      expect(await store.writeProgress({ ...attemptOf(first), owner: 'r2' }, 6, { stage: 'storing', pagesRendered: 9 })).toBe(false);
      expect(await store.writeProgress({ ...attemptOf(first), attempt: 0 }, 6, { stage: 'storing', pagesRendered: 9 })).toBe(false);
      expect(await h.exportJob(rid)).toMatchObject({ pagesRendered: 3, version: 2 });
      expect(await store.release('export', attemptOf(first), 7)).toBe(true);
      expect(await h.exportJob(rid)).toMatchObject({ progressStage: null, pagesRendered: 0, version: 3 });
      // The next attempt starts from page 0; once its lease has expired it can no longer write.
      const second = (await store.claimNext('export', lease('r2', 8)))!;
      expect(await h.exportJob(rid)).toMatchObject({ progressStage: 'rendering', pagesRendered: 0, version: 4 });
      expect(await store.writeProgress(attemptOf(second), 9 + LEASE_MS, { stage: 'storing', pagesRendered: 1 })).toBe(false);
      expect(await store.failExport(attemptOf(second), 9, { errorCode: 'TIMEOUT', message: 'slow', errorInstanceId: 'i' })).toBe(true);
      expect(await h.exportJob(rid)).toMatchObject({ status: 'failed', version: 5 });
      const other = await exportJob('a', 2);
      const third = (await store.claimNext('export', lease('r3', 10)))!;
      expect(third.rid).toBe(other);
      await store.commitExportSuccess(third, attemptOf(third), 11, { rid: 'ri.notepad.main.file.p', storageKey: 'kp', ...FILE }, NO_QUOTA);
      expect(await h.exportJob(other)).toMatchObject({ status: 'succeeded', version: 2 });
    });

    it('commits a success with its file, unless the quota refuses it; a refusal writes nothing', async () => {
      await user('a');
      const rid = await exportJob('a', 1);
      const job = (await store.claimNext('export', lease('r1', 0)))!;
      const attempt = attemptOf(job);
      const file = { rid: 'ri.notepad.main.file.1', storageKey: 'k1', ...FILE };

      // The user holds 0 bytes; the bound is what they may hold for the file to fit.
      const refused = await store.commitExportSuccess(job, attempt, 5, file, -1);
      expect(refused).toEqual({ outcome: 'refused', storedBytes: 0 });
      expect(await h.exportJob(rid)).toMatchObject({ status: 'running', leaseOwner: 'r1', version: 1 });
      expect(await store.fileRowExists('k1')).toBe(false);
      expect(await store.storedBytes('a')).toBe(0);

      // The bound is inclusive: holding exactly that much, the file fits.
      const committed = await store.commitExportSuccess(job, attempt, 6, file, 0);
      expect(committed).toEqual({ outcome: 'committed' });
      expect(await h.exportJob(rid)).toMatchObject({ status: 'succeeded', fileRid: file.rid, finishedAt: 6, leaseOwner: null, leaseExpiresAt: null, version: 2 });
      expect(await store.fileRowExists('k1')).toBe(true);
      expect(await store.storedBytes('a')).toBe(FILE.sizeBytes);
      // A second commit of the same attempt: the lease ended with the first.
      expect(await store.commitExportSuccess(job, attempt, 7, { ...file, rid: 'f2', storageKey: 'k2' }, NO_QUOTA)).toEqual({ outcome: 'lease-lost' });
      expect(await store.fileRowExists('k2')).toBe(false);

      // The next job of that user: refused with what the user holds now, its job and the user's bytes unchanged.
      const next = await exportJob('a', 2);
      const nextJob = (await store.claimNext('export', lease('r1', 8)))!;
      expect(nextJob.rid).toBe(next);
      const nextFile = { ...file, rid: 'ri.notepad.main.file.2', storageKey: 'k3' };
      expect(await store.commitExportSuccess(nextJob, attemptOf(nextJob), 9, nextFile, FILE.sizeBytes - 1)).toEqual({ outcome: 'refused', storedBytes: FILE.sizeBytes });
      expect(await h.exportJob(next)).toMatchObject({ status: 'running', leaseOwner: 'r1' });
      expect(await store.storedBytes('a')).toBe(FILE.sizeBytes);
      // A bound past any byte count (a quota configured beyond what a bigint holds) admits the file.
      expect(await store.commitExportSuccess(nextJob, attemptOf(nextJob), 10, nextFile, 1e20)).toEqual({ outcome: 'committed' });
      expect(await h.exportJob(next)).toMatchObject({ status: 'succeeded', fileRid: nextFile.rid });
      expect(await store.storedBytes('a')).toBe(2 * FILE.sizeBytes);
    });

    it('reads an export\'s inputs: what its user holds, and the document or why it is missing', async () => {
      await user('a');
      const done = await exportJob('a', 0, { status: 'succeeded' });
      await h.insert('files', [{ rid: 'f-a', exportJobRid: done, ownerId: 'a', storageKey: 'k-a', createdAt: 0, expiresAt: 10_000, ...FILE }]);
      await exportJob('a', 1);
      const job = (await store.claimNext('export', lease('r1', 0)))!;
      const held = FILE.sizeBytes;
      expect(await store.exportInputs(job)).toEqual({ storedBytes: held, source: { title: 'Doc of a', content: CONTENT } });
      expect(await store.exportInputs({ ...job, documentRid: 'gone' })).toEqual({ storedBytes: held, source: { missing: 'The document no longer exists.' } });
      expect(await store.exportInputs({ ...job, sourceType: 'generationJobSource', documentRid: null, generationJobRid: 'gone' })).toEqual({
        storedBytes: held,
        source: { missing: 'The generation job no longer has content to export.' },
      });
      expect(await store.exportInputs({ ...job, documentRid: null })).toEqual({ storedBytes: held, source: { missing: 'The export job has no source.' } });
      // A user with nothing stored (and maybe no usage row yet) holds 0.
      await user('b');
      expect(await store.exportInputs({ ...job, creatorId: 'b' })).toEqual({ storedBytes: 0, source: { title: 'Doc of a', content: CONTENT } });
    });

    it('reads a claimed export\'s inputs as a read of its row anew would, whatever its source (a store may read them with the claim)', async () => {
      await user('a');
      const done = await exportJob('a', 0, { status: 'succeeded' });
      await h.insert('files', [{ rid: 'f-a', exportJobRid: done, ownerId: 'a', storageKey: 'k-a', createdAt: 0, expiresAt: 10_000, ...FILE }]);
      await h.insert('users', [{ id: 'nobody-holds', name: 'n', createdAt: 0 }]);
      await h.insert('templates', [{ rid: 't1', title: 'T', ownerId: 'a', createdAt: 0 }]);
      await h.insert('generationJobs', [
        { rid: 'g-done', templateRid: 't1', templateVersion: 1, creatorId: 'a', parameters: {}, status: 'succeeded', content: CONTENT, createdAt: 0, expiresAt: 1_000_000 },
        { rid: 'g-empty', templateRid: 't1', templateVersion: 1, creatorId: 'a', parameters: {}, status: 'failed', createdAt: 0, expiresAt: 1_000_000 },
      ]);
      const held = FILE.sizeBytes + Buffer.byteLength(JSON.stringify(CONTENT));
      const generated = (generationJobRid: string) => ({ sourceType: 'generationJobSource' as const, documentRid: null, generationJobRid, templateRid: 't1' });
      const cases: Array<[Partial<Rows['exportJobs']>, Awaited<ReturnType<JobStore['exportInputs']>>]> = [
        [{}, { storedBytes: held, source: { title: 'Doc of a', content: CONTENT } }],
        [{ documentRid: 'gone' }, { storedBytes: held, source: { missing: 'The document no longer exists.' } }],
        [generated('g-done'), { storedBytes: held, source: { title: 'T', content: CONTENT } }],
        [generated('g-empty'), { storedBytes: held, source: { missing: 'The generation job no longer has content to export.' } }],
        [generated('gone'), { storedBytes: held, source: { missing: 'The generation job no longer has content to export.' } }],
        [{ documentRid: null }, { storedBytes: held, source: { missing: 'The export job has no source.' } }],
        [{ creatorId: 'nobody-holds' }, { storedBytes: 0, source: { title: 'Doc of a', content: CONTENT } }],
      ];
      for (const [i, [extra, expected]] of cases.entries()) {
        const rid = await exportJob('a', 10 + i, extra);
        const claimed = (await store.claimNext('export', lease(`r${i}`, 100 + i)))!;
        expect(claimed.rid).toBe(rid);
        expect(await store.exportInputs(claimed), JSON.stringify(extra)).toEqual(expected);
        // The row as read anew (not the object the claim answered), and the claimed one again.
        expect(await store.exportInputs({ ...claimed })).toEqual(expected);
        expect(await store.exportInputs(claimed)).toEqual(expected);
      }
    });

    it('generation jobs: claimed by rid, template content read, finished once by the live attempt', async () => {
      await user('a');
      await h.insert('templates', [{ rid: 't1', title: 'T', ownerId: 'a', createdAt: 0 }]);
      await h.insert('templateVersions', [{ templateRid: 't1', version: 1, content: CONTENT, parameters: [], publishedAt: 0 }]);
      await h.insert('generationJobs', [
        { rid: 'g1', templateRid: 't1', templateVersion: 1, creatorId: 'a', parameters: {}, status: 'running', createdAt: 1, expiresAt: 1_000 },
      ]);
      expect(await store.templateVersionContent('t1', 1)).toEqual(CONTENT);
      expect(await store.templateVersionContent('t1', 2)).toBeUndefined();
      const claimed = (await store.claimGeneration('g1', lease('cli', 5)))!;
      expect(claimed).toMatchObject({ rid: 'g1', leaseOwner: 'cli', attempts: 1 });
      expect(await store.claimGeneration('g1', lease('other', 6))).toBeUndefined();
      expect(await store.finishGeneration(attemptOf(claimed), 7, { status: 'succeeded', content: CONTENT })).toBe(true);
      expect(await store.finishGeneration(attemptOf(claimed), 8, { status: 'failed', errorMessage: 'late' })).toBe(false);
      // Its content now counts against its user, as on every backend.
      expect(await store.storedBytes('a')).toBe(Buffer.byteLength(JSON.stringify(CONTENT)));
      const exportOfIt = await exportJob('a', 9, { sourceType: 'generationJobSource', documentRid: null, generationJobRid: 'g1', templateRid: 't1' });
      const job = (await store.claimNext('export', lease('r', 10)))!;
      expect(job.rid).toBe(exportOfIt);
      expect(await store.exportInputs(job)).toEqual({ storedBytes: Buffer.byteLength(JSON.stringify(CONTENT)), source: { title: 'T', content: CONTENT } });
    });

    it('sweeps: expired files listed, then they, expired jobs and keys deleted in one go', async () => {
      await user('a');
      const old = await exportJob('a', 1, { expiresAt: 100, status: 'succeeded' });
      const fresh = await exportJob('a', 2, { expiresAt: 10_000 });
      await h.insert('files', [
        { rid: 'f-old', exportJobRid: old, ownerId: 'a', storageKey: 'k-old', createdAt: 1, expiresAt: 100, ...FILE },
        { rid: 'f-new', exportJobRid: fresh, ownerId: 'a', storageKey: 'k-new', createdAt: 2, expiresAt: 10_000, ...FILE },
      ]);
      await h.insert('idempotencyKeys', [{ userId: 'a', key: 'k', requestHash: 'h', jobRid: old, createdAt: 1, expiresAt: 100 }]);
      expect(await store.expiredFiles(99)).toEqual([]);
      const expired = await store.expiredFiles(100);
      expect(expired).toEqual([{ rid: 'f-old', storageKey: 'k-old' }]);
      expect(await store.deleteExpired(100, expired.map((f) => f.rid))).toEqual({ exportJobs: 1, files: 1, generationJobs: 0, idempotencyKeys: 1 });
      expect(await store.fileRowExists('k-old')).toBe(false);
      expect(await store.fileRowExists('k-new')).toBe(true);
      expect(await h.exportJob(old)).toBeUndefined();
      expect(await store.exportAttemptState(fresh)).toEqual({ status: 'running', attempts: 0, leaseExpiresAt: null });
      expect(await store.storedBytes('a')).toBe(FILE.sizeBytes);
    });
  });
}
