import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredBytes {
  storageKey: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Where PDFs live: one implementation per backend (a local directory here, an S3 bucket in
 * s3-store.ts); test/stores/file-store.contract.ts runs the same suite against both.
 */
export interface FileStore {
  /** Where the bytes are, for logs: a directory, or s3://bucket/prefix. */
  readonly location: string;
  /**
   * Writes the bytes under `storageKey` (see `storageKeyFor`); the key becomes visible only
   * once complete and durable.
   */
  write(storageKey: string, bytes: Uint8Array): Promise<StoredBytes>;
  /** The bytes, streamed; rejects when the key holds nothing. */
  open(storageKey: string): Promise<Readable>;
  remove(storageKey: string): Promise<void>;
  /** Finished and temporary bytes of a job's attempts before `attempt` (superseded once a later attempt ends). */
  removeEarlierAttempts(jobUuid: string, attempt: number): Promise<void>;
  /** Keys present in the store: finished files, and (`temp`) writes not yet renamed into place. */
  list(): Promise<Array<{ storageKey: string; temp: boolean }>>;
  /** Removes a write that never completed. */
  removeTemp(storageKey: string): Promise<void>;
  /** Resolves when the store takes a write now (readiness): something written and removed, under a name list() never reports. */
  probe(): Promise<void>;
}

/** The local store also says its directory (free-space checks, tests that look at the files). */
export interface LocalFileStore extends FileStore {
  readonly dir: string;
}

/** Names the readiness probe writes: never a storage key, so list() and the sweeper ignore them. */
export const PROBE_PREFIX = '.ready-probe-';

const KEY = /^([0-9a-f-]{36})\.(\d+)\.pdf$/;

/**
 * The key of one attempt at one job. Unique per attempt, so two runners that both believe
 * they hold a job never write the same name, and the sweeper can tell whose bytes these are.
 */
export function storageKeyFor(jobUuid: string, attempt: number): string {
  const key = `${jobUuid}.${attempt}.pdf`;
  if (!KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  return key;
}

export function parseStorageKey(key: string): { jobUuid: string; attempt: number } | undefined {
  const match = KEY.exec(key);
  return match ? { jobUuid: match[1]!, attempt: Number(match[2]) } : undefined;
}
const TEMP_PREFIX = '.tmp-';

/**
 * Files on disk, one per export. A write goes to a temporary name, is fsynced, then renamed:
 * a reader sees either no file or the whole file. Keys are our own UUIDs, never user input.
 */
export async function createFileStore(dir: string): Promise<LocalFileStore> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  // Temporary files are not removed here: another process sharing this store may be
  // writing them. The runner's sweep removes those whose attempt can no longer commit.

  const pathOf = (storageKey: string) => {
    if (!KEY.test(storageKey)) throw new Error(`invalid storage key ${JSON.stringify(storageKey)}`);
    return join(root, storageKey);
  };

  return {
    dir: root,
    location: root,
    async write(storageKey, bytes) {
      const path = pathOf(storageKey);
      const temp = join(root, `${TEMP_PREFIX}${storageKey}`);
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(temp, { force: true });
        throw error;
      }
      await handle.close();
      await rename(temp, path);
      return { storageKey, sizeBytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    async open(storageKey) {
      const path = pathOf(storageKey);
      await stat(path);
      return createReadStream(path);
    },
    async remove(storageKey) {
      await rm(pathOf(storageKey), { force: true });
    },
    async removeEarlierAttempts(jobUuid, attempt) {
      for (let earlier = 1; earlier < attempt; earlier++) {
        const key = storageKeyFor(jobUuid, earlier);
        await rm(join(root, key), { force: true });
        await rm(join(root, `${TEMP_PREFIX}${key}`), { force: true });
      }
    },
    async list() {
      const entries: Array<{ storageKey: string; temp: boolean }> = [];
      for (const name of await readdir(root)) {
        const temp = name.startsWith(TEMP_PREFIX);
        const storageKey = temp ? name.slice(TEMP_PREFIX.length) : name;
        if (KEY.test(storageKey)) entries.push({ storageKey, temp });
      }
      return entries;
    },
    async removeTemp(storageKey) {
      await rm(join(root, `${TEMP_PREFIX}${pathOf(storageKey).slice(root.length + 1)}`), { force: true });
    },
    async probe() {
      const probe = join(root, `${PROBE_PREFIX}${randomUUID()}`);
      try {
        await writeFile(probe, 'ready?', { flag: 'wx' });
      } finally {
        await rm(probe, { force: true });
      }
    },
  };
}
