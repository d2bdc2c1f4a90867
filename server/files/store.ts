import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface StoredBytes {
  storageKey: string;
  sizeBytes: number;
  sha256: string;
}

export interface FileStore {
  readonly dir: string;
  /**
   * Writes the bytes under `storageKey` (see `storageKeyFor`); the key becomes visible only
   * once complete and synced.
   */
  write(storageKey: string, bytes: Uint8Array): Promise<StoredBytes>;
  open(storageKey: string): Promise<ReadStream>;
  remove(storageKey: string): Promise<void>;
  /** Finished and temporary bytes of a job's attempts before `attempt` (superseded once a later attempt ends). */
  removeEarlierAttempts(jobUuid: string, attempt: number): Promise<void>;
  /** Keys present in the store: finished files, and (`temp`) writes not yet renamed into place. */
  list(): Promise<Array<{ storageKey: string; temp: boolean }>>;
  /** Removes a write that never completed. */
  removeTemp(storageKey: string): Promise<void>;
}

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
export async function createFileStore(dir: string): Promise<FileStore> {
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
    async write(storageKey, bytes) {
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
      await rename(temp, pathOf(storageKey));
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
  };
}
