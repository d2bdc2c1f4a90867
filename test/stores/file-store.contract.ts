/**
 * What every FileStore (server/files/store.ts) does, whatever holds the bytes: run by
 * test/file-stores.test.ts against the local directory and the S3 store.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageKeyFor, type FileStore } from '../../server/files/store.js';

export interface FileStoreHarness {
  store: FileStore;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function fileStoreContract(name: string, make: () => Promise<FileStoreHarness>): void {
  describe(`FileStore contract: ${name}`, () => {
    let harness: FileStoreHarness;
    const store = () => harness.store;
    beforeAll(async () => {
      harness = await make();
    });
    afterAll(async () => {
      await harness.cleanup();
    });

    it('round-trips a multi-megabyte file byte for byte, with its size and sha256', async () => {
      // Past one multipart part (8 MiB) and not a multiple of any chunk size.
      const bytes = randomBytes(12 * 1024 * 1024 + 12_345);
      const key = storageKeyFor(randomUUID(), 1);
      const stored = await store().write(key, bytes);
      expect(stored).toEqual({ storageKey: key, sizeBytes: bytes.byteLength, sha256: sha256(bytes) });
      const read = await readAll(await store().open(key));
      expect(read.byteLength).toBe(bytes.byteLength);
      expect(sha256(read)).toBe(sha256(bytes));
    });

    it('round-trips an empty file and a small one', async () => {
      for (const bytes of [new Uint8Array(0), new TextEncoder().encode('%PDF-1.7 tiny')]) {
        const key = storageKeyFor(randomUUID(), 1);
        await store().write(key, bytes);
        expect(Buffer.compare(await readAll(await store().open(key)), Buffer.from(bytes))).toBe(0);
      }
    });

    it('refuses keys that are not attempt keys, and opening a key that holds nothing', async () => {
      await expect(store().write('../escape.pdf', new Uint8Array([1]))).rejects.toThrow(/invalid storage key/);
      await expect(store().open(storageKeyFor(randomUUID(), 1))).rejects.toThrow();
    });

    it('lists finished keys, removes them (a missing key too), and the probe leaves nothing behind', async () => {
      const job = randomUUID();
      const keys = [storageKeyFor(job, 1), storageKeyFor(job, 2)];
      for (const key of keys) await store().write(key, new Uint8Array([1, 2, 3]));
      await store().probe();
      const listed = (await store().list()).filter((entry) => entry.storageKey.startsWith(job));
      expect(listed.sort((a, b) => a.storageKey.localeCompare(b.storageKey))).toEqual(keys.map((storageKey) => ({ storageKey, temp: false })));
      expect((await store().list()).every((entry) => !entry.storageKey.includes('probe'))).toBe(true);

      await store().remove(keys[0]!);
      await store().remove(keys[0]!);
      expect((await store().list()).filter((entry) => entry.storageKey.startsWith(job)).map((e) => e.storageKey)).toEqual([keys[1]]);
      await expect(store().open(keys[0]!)).rejects.toThrow();
    });

    it('removeEarlierAttempts removes the attempts before the given one, of that job only', async () => {
      const job = randomUUID();
      const other = randomUUID();
      for (const key of [storageKeyFor(job, 1), storageKeyFor(job, 2), storageKeyFor(job, 3), storageKeyFor(other, 1)]) {
        await store().write(key, new Uint8Array([7]));
      }
      await store().removeEarlierAttempts(job, 3);
      const left = (await store().list()).map((entry) => entry.storageKey).filter((key) => key.startsWith(job) || key.startsWith(other));
      expect(left.sort()).toEqual([storageKeyFor(job, 3), storageKeyFor(other, 1)].sort());
    });
  });
}
