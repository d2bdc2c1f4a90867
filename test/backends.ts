/**
 * Per-test-file resources on the shared test backends (test/setup/backends.ts): a fresh
 * PostgreSQL database and a fresh S3 bucket, so files running in parallel never see each
 * other's rows or objects.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { inject } from 'vitest';

export const testBackends = () => inject('backends');

/** Creates an empty database on the test cluster; `drop` ends its connections and drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = new URL(testBackends().postgresUrl);
  const name = `t_${randomUUID().replaceAll('-', '')}`;
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin.href);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    async drop() {
      const dropper = new pg.Client({ connectionString: admin.href });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** An S3 client for the test server, signing with `secretAccessKey` (the server's own unless told). */
export function testS3Client(secretAccessKey = testBackends().s3.secretAccessKey): S3Client {
  const { endpoint, region, accessKeyId } = testBackends().s3;
  return new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
}

/** Creates an empty bucket on the test S3 server. */
export async function freshBucket(): Promise<string> {
  const bucket = `t-${randomUUID()}`;
  const client = testS3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
