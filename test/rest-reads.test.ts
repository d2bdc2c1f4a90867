import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../server/app.js';
import { contentDisposition } from '../server/files/content-disposition.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let app: FastifyInstance;
let runner: JobRunner;
let user: { userId: string; token: string };

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  runner = createJobRunner({ deps: env.deps, files: env.files, render: (request) => renderPdf(request) });
  user = await seedUser(env.deps);
});
afterAll(async () => {
  await app.close();
  await runner.stop(0);
  await env.cleanup();
});

const get = (url: string, token = user.token, contentType = true) =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': 'application/json' } : {}) } });

async function exported(title: string): Promise<{ jobRid: string; fileRid: string }> {
  const documentRid = await seedDocument(env.deps, user.userId, { title: 'Placeholder' });
  // Written past the display-name rule: a title stored before the rule, or by another tool,
  // must still never reach a header unescaped.
  await env.rows.set('documents', documentRid, { title });
  const created = await app.inject({
    method: 'POST',
    url: '/api/v2/notepad/exportJobs/create?preview=true',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    payload: { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } },
  });
  const jobRid = created.json<{ rid: string }>().rid;
  await runner.drain();
  const job = (await get(`/api/v2/notepad/exportJobs/${jobRid}?preview=true`)).json<{ status: { type: string; fileRid: string } }>();
  expect(job.status.type).toBe('succeeded');
  return { jobRid, fileRid: job.status.fileRid };
}

describe('exportJobs.get and files.content over REST', () => {
  it('serves the PDF with type, length and an RFC 6266 disposition, with or without a JSON content type', async () => {
    const { fileRid } = await exported('Résumé 2026');
    for (const contentType of [true, false]) {
      const response = await get(`/api/v2/notepad/files/${fileRid}/content?preview=true`, user.token, contentType);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/pdf');
      expect(Number(response.headers['content-length'])).toBe(response.rawPayload.length);
      expect(response.headers['content-disposition']).toBe(`attachment; filename="R_sum_ 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`);
      expect(response.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    }
  });

  it('a hostile title cannot inject headers or escape the file name', async () => {
    const { fileRid } = await exported('../../etc/passwd\r\nSet-Cookie: x=1; "q"');
    const response = await get(`/api/v2/notepad/files/${fileRid}/content?preview=true`);
    expect(response.headers['set-cookie']).toBeUndefined();
    const disposition = String(response.headers['content-disposition']);
    expect(disposition).not.toMatch(/[\r\n]/);
    expect(disposition).toMatch(/^attachment; filename="[^"/\\]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/);
    expect(contentDisposition('..')).toContain('filename="export.pdf"');
  });

  it('requires preview=true and the export scope on reads too', async () => {
    const { jobRid, fileRid } = await exported('Scoped');
    expect((await get(`/api/v2/notepad/exportJobs/${jobRid}`)).json()).toMatchObject({ errorName: 'ApiFeaturePreviewUsageOnly' });
    expect((await get(`/api/v2/notepad/files/${fileRid}/content`)).statusCode).toBe(400);
    // Given twice, preview is neither absent nor false: a malformed query, naming it.
    for (const url of [`/api/v2/notepad/exportJobs/${jobRid}?preview=true&preview=true`, `/api/v2/notepad/files/${fileRid}/content?preview=true&preview=false`]) {
      const repeated = await get(url);
      expect(repeated.statusCode).toBe(400);
      expect(repeated.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'preview' } });
    }
    const writer = await seedUser(env.deps, { scopes: ['api:notepad-write'] });
    expect((await get(`/api/v2/notepad/files/${fileRid}/content?preview=true`, writer.token)).json()).toMatchObject({
      errorName: 'ApiUsageDenied',
      parameters: { missingScope: 'api:notepad-export' },
    });
  });

  it('malformed RIDs in the path are Default:InvalidArgument; well-formed unknown ones are NOT_FOUND errors', async () => {
    const urls = [
      ["/api/v2/notepad/exportJobs/ri.notepad.main.export-job.1'%20OR%201=1?preview=true", 'exportJobRid'],
      ['/api/v2/notepad/files/..%2F..%2Fetc%2Fpasswd/content?preview=true', 'fileRid'],
    ] as const;
    for (const [url, parameter] of urls) {
      const response = await get(url);
      expect(response.statusCode).toBe(400);
      // One shape for every malformed path parameter: the parameter, a message and the issues.
      expect(response.json()).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter, message: expect.any(String), issues: [{ path: parameter }] } });
    }
    expect((await get('/api/v2/notepad/exportJobs/ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000?preview=true')).json()).toMatchObject({
      errorName: 'ExportJobNotFound',
    });
  });

  it('answers 404 once a job and its file expire', async () => {
    const { jobRid, fileRid } = await exported('Ephemeral');
    env.clock.advance(7 * 24 * 3_600_000);
    expect((await get(`/api/v2/notepad/exportJobs/${jobRid}?preview=true`)).json()).toMatchObject({ errorName: 'ExportJobNotFound', errorCode: 'NOT_FOUND' });
    const file = await get(`/api/v2/notepad/files/${fileRid}/content?preview=true`);
    expect(file.statusCode).toBe(404);
    expect(file.json()).toMatchObject({ errorName: 'FileNotFound', parameters: { fileRid } });
  });

  it('a response that breaks its own schema is an INTERNAL error on REST and tRPC alike, and nothing of it is sent', async () => {
    const { jobRid } = await exported('Schema guard');
    const store = env.deps.stores.exports;
    const real = store.get;
    // As if a bad row were stored: a succeeded job whose file rid is not a FileRid.
    store.get = async (...args) => ({ ...(await real.apply(store, args))!, fileRid: 'not-a-rid' });
    try {
      const rest = await get(`/api/v2/notepad/exportJobs/${jobRid}?preview=true`);
      expect(rest.statusCode).toBe(500);
      expect(rest.json()).toMatchObject({ errorCode: 'INTERNAL', errorName: 'Default:Internal' });
      expect(rest.body).not.toContain('not-a-rid');

      const trpc = await get(`/trpc/notepad.exportJobs.get?input=${encodeURIComponent(JSON.stringify({ exportJobRid: jobRid }))}`);
      expect(trpc.statusCode).toBe(500);
      expect(trpc.json()).toMatchObject({ error: { data: { errorCode: 'INTERNAL', errorName: 'Default:Internal', httpStatus: 500 } } });
      expect(trpc.body).not.toContain('not-a-rid');
    } finally {
      store.get = real;
    }
  });

  it('an error thrown inside a service is an INTERNAL error on both transports, even one shaped like a validation error', async () => {
    const { jobRid } = await exported('Thrown inside');
    const store = env.deps.stores.exports;
    const real = store.get;
    store.get = async () => {
      z.string().parse(42); // a ZodError, with issues, from our own code
      return undefined;
    };
    try {
      const rest = await get(`/api/v2/notepad/exportJobs/${jobRid}?preview=true`);
      expect(rest.statusCode).toBe(500);
      expect(rest.json()).toMatchObject({ errorCode: 'INTERNAL', errorName: 'Default:Internal' });
      const trpc = await get(`/trpc/notepad.exportJobs.get?input=${encodeURIComponent(JSON.stringify({ exportJobRid: jobRid }))}`);
      expect(trpc.statusCode).toBe(500);
      expect(trpc.json()).toMatchObject({ error: { data: { errorCode: 'INTERNAL', errorName: 'Default:Internal' } } });
    } finally {
      store.get = real;
    }
  });

  it('GET /health answers', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.json()).toEqual({ status: 'ok' });
  });
});
