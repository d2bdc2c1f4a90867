/**
 * The whole path on PostgreSQL + S3, in real processes: the CLI seeds a user, a token and a
 * document into a fresh PostgreSQL database; an api process and a runner process (npm start's
 * server/main.ts, NOTEPAD_ROLE api and runner) share it and an S3 bucket on the test server;
 * an export made through REST is rendered by the runner, and the PDF served by the api is the
 * object in the bucket, byte for byte, every time. Plus the demo seed on PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../server/cli.js';
import { createDeps } from '../server/deps.js';
import { seedDemoIfEmpty } from '../server/seed.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { freshBucket, freshPostgresDatabase, testBackends, testS3Client } from './backends.js';
import { postJson, sleep, startServerProcess, type ServerProcess } from './process-helpers.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
const servers: ServerProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'notepad-pg-s3-'));

beforeAll(async () => {
  database = await freshPostgresDatabase();
});
afterAll(async () => {
  for (const server of servers) await server.kill();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** One CLI invocation against the PostgreSQL database, its --json answer parsed. */
async function cli(args: string[]): Promise<Record<string, string>> {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { ...process.env, NOTEPAD_DB: database.url } });
  expect(err).toBe('');
  expect(code).toBe(0);
  return JSON.parse(out) as Record<string, string>;
}

describe('npm start and the CLI on PostgreSQL and S3', () => {
  it('an export created through one process is rendered by another, and its PDF is the stored object, byte for byte', { timeout: 180_000 }, async () => {
    const { userId } = await cli(['users', 'create', '--name', 'Scaler']);
    const { token } = await cli(['tokens', 'create', '--user', userId!, '--scopes', 'api:notepad-export']);
    const markdown = join(dir, 'doc.md');
    writeFileSync(markdown, '# Scaled out\n\nRendered by a runner on PostgreSQL, stored on S3.\n');
    const { documentRid } = await cli(['documents', 'create', '--title', 'Scaled out', '--markdown', markdown, '--owner', userId!]);

    const bucket = await freshBucket();
    const { endpoint, region, accessKeyId, secretAccessKey } = testBackends().s3;
    const env = {
      NOTEPAD_DB: database.url,
      NOTEPAD_DB_POOL: '4',
      NOTEPAD_FILES: `s3://${bucket}/pdfs`,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_ENDPOINT_URL_S3: endpoint,
      NOTEPAD_S3_FORCE_PATH_STYLE: 'true',
    };
    const api = await startServerProcess({ ...env, NOTEPAD_ROLE: 'api' }, 60_000);
    servers.push(api);
    const runner = await startServerProcess({ ...env, NOTEPAD_ROLE: 'runner', NOTEPAD_JOB_CONCURRENCY: '1' }, 60_000);
    servers.push(runner);
    const auth = { authorization: `Bearer ${token}` };

    const ready = await fetch(`${api.baseUrl}/ready`);
    expect(ready.status).toBe(200);
    // Every check passes on these backends: the database answers, its migrations are migrations-pg/, the bucket takes a write.
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, files: { ok: true }, freeSpace: { ok: true } } });

    const created = await postJson(`${api.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, token!, {
      exportJobSource: { type: 'documentSource', documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
    });
    expect(created.status).toBe(200);
    const rid = created.body.rid as string;

    let status: Record<string, unknown> = {};
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(100)) {
      const response = await fetch(`${api.baseUrl}/api/v2/notepad/exportJobs/${rid}?preview=true`, { headers: auth });
      status = ((await response.json()) as { status: Record<string, unknown> }).status;
      if (status.type !== 'running') break;
    }
    expect(status.type).toBe('succeeded');
    expect(runner.logs.some((line) => line.msg === 'export job succeeded' && line.exportJobRid === rid)).toBe(true);

    const download = async () => {
      const response = await fetch(`${api.baseUrl}/api/v2/notepad/files/${status.fileRid as string}/content?preview=true`, { headers: auth });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/pdf/);
      return new Uint8Array(await response.arrayBuffer());
    };
    const first = await download();
    const second = await download();
    expect(Buffer.from(first.subarray(0, 5)).toString()).toBe('%PDF-');
    expect(sha256(second)).toBe(sha256(first));

    // The object the runner uploaded, read straight from the bucket: the same bytes.
    const s3 = testS3Client();
    try {
      const listed = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `pdfs/${rid.split('.').pop()}.1.pdf` }));
      expect(sha256(await listed.Body!.transformToByteArray())).toBe(sha256(first));
    } finally {
      s3.destroy();
    }

    expect(await runner.kill('SIGTERM')).toBe(0);
    expect(await api.kill('SIGTERM')).toBe(0);
  });

  it('the demo seed runs once on an empty PostgreSQL database, and its document exports', async () => {
    const fresh = await freshPostgresDatabase();
    const backend = await openPgBackend(fresh.url, { pool: 2 });
    try {
      const deps = createDeps({ stores: backend.stores });
      const seed = await seedDemoIfEmpty(deps);
      expect(seed).toBeDefined();
      expect(await seedDemoIfEmpty(deps)).toBeUndefined();
      const user = await backend.stores.directory.user(seed!.userId);
      const job = await createExportJob(deps, { userId: seed!.userId, name: user!.name, canCreateExportJobs: true, scopes: new Set(['api:notepad-export']) }, {
        exportJobSource: { type: 'documentSource', documentRid: seed!.documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      } as Parameters<typeof createExportJob>[2]);
      expect(job.status.type).toBe('running');
    } finally {
      await backend.close();
      await fresh.drop();
    }
  });
});
