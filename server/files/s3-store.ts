/**
 * The file store on an S3-compatible object store (AWS S3, MinIO, Ceph, R2, ...): one object
 * per attempt key (store.ts storageKeyFor) under the configured prefix.
 *
 * Temporary names: none. A PUT, and a multipart upload once completed, is atomic: a reader
 * sees the whole object or none, so there is nothing to write under a temp name and rename.
 * What a crashed writer leaves is an incomplete multipart upload, invisible to list() and
 * GET; lib-storage aborts it when an upload fails in-process, and a bucket lifecycle rule
 * (AbortIncompleteMultipartUpload) removes those of killed processes (docs/SCALING.md). So
 * list() never reports temp entries, and removeTemp() has nothing to remove.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { FilesConfig } from '../config.js';
import { parseStorageKey, PROBE_PREFIX, storageKeyFor, type FileStore } from './store.js';

export type S3FilesConfig = Extract<FilesConfig, { kind: 's3' }>;

/** Parts of a multipart upload (S3's minimum is 5 MiB); smaller files go in one PUT. */
const PART_BYTES = 8 * 1024 * 1024;
/** The chunks the body is streamed in. */
const CHUNK_BYTES = 1024 * 1024;

export function createS3Client(config: S3FilesConfig): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // The SDK's default (WHEN_SUPPORTED) sends a streamed body aws-chunked with a CRC32
    // trailer. S3-compatible servers that do not decode that encoding either refuse it (the
    // test server does) or store the chunk framing and trailer as part of the object and
    // answer 200: silently corrupted bytes. WHEN_REQUIRED sends checksums only where an
    // operation requires one, so the object is exactly the bytes sent (test/file-stores.test.ts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) yield bytes.subarray(offset, offset + CHUNK_BYTES);
}

export function createS3FileStore(config: S3FilesConfig, client: S3Client = createS3Client(config)): FileStore {
  const { bucket, prefix } = config;
  const objectKey = (storageKey: string) => {
    if (!parseStorageKey(storageKey)) throw new Error(`invalid storage key ${JSON.stringify(storageKey)}`);
    return `${prefix}${storageKey}`;
  };
  const remove = async (storageKey: string) => {
    // Deleting a missing key succeeds in S3, as rm with force does on disk.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(storageKey) }));
  };

  return {
    location: `s3://${bucket}/${prefix}`,
    async write(storageKey, bytes) {
      // Streamed: lib-storage sends the body part by part (multipart above PART_BYTES), never
      // buffering a second copy; the object appears only when the upload completes.
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: objectKey(storageKey), Body: Readable.from(chunksOf(bytes)), ContentType: 'application/pdf' },
        partSize: PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
      return { storageKey, sizeBytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    async open(storageKey) {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(storageKey) }));
      if (!(Body instanceof Readable)) throw new Error(`s3://${bucket}/${objectKey(storageKey)}: no body streamed`);
      return Body;
    },
    remove,
    async removeEarlierAttempts(jobUuid, attempt) {
      for (let earlier = 1; earlier < attempt; earlier++) await remove(storageKeyFor(jobUuid, earlier));
    },
    async list() {
      const entries: Array<{ storageKey: string; temp: boolean }> = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const storageKey = object.Key?.slice(prefix.length) ?? '';
          if (parseStorageKey(storageKey)) entries.push({ storageKey, temp: false });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return entries;
    },
    async removeTemp() {
      // Nothing: see the top of this file.
    },
    async probe() {
      const key = `${prefix}${PROBE_PREFIX}${randomUUID()}`;
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'ready?' }));
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
    },
  };
}
