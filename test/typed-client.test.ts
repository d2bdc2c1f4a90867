import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotepadClient, errorDataOf, exportPdf, NotepadClientError } from '../client/index.js';
import { seedDocument, seedUser } from './helpers.js';
import { startLiveServer, type LiveServer } from './live-server.js';
import { readPdf, squash } from './render-pdf-text.js';

let server: LiveServer;
let user: { userId: string; token: string };
let documentRid: string;
const target = { type: 'pdf', userLocale: 'ja-JP', userTimezone: 'Asia/Tokyo' } as const;

beforeAll(async () => {
  server = await startLiveServer();
  user = await seedUser(server.env.deps);
  documentRid = await seedDocument(server.env.deps, user.userId);
});
afterAll(() => server.close());

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('typed tRPC client over HTTP', () => {
  it('creates and reads an export job', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: user.token });
    const job = await client.notepad.exportJobs.create.mutate({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
    expect(job.status).toEqual({ type: 'running' });
    const again = await client.notepad.exportJobs.get.query({ exportJobRid: job.rid });
    expect(again.rid).toBe(job.rid);
  });

  it('errors carry the Foundry fields in error.data', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: user.token });
    const error = await rejection(
      client.notepad.exportJobs.create.mutate({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { ...target, userTimezone: 'JST' } }),
    );
    const data = errorDataOf(error);
    expect(data).toMatchObject({ errorName: 'InvalidTimezone', errorCode: 'INVALID_ARGUMENT', parameters: { userTimezone: 'JST' }, httpStatus: 400 });
    expect(data?.errorInstanceId).toMatch(/^[0-9a-f-]{36}$/);
    const logged = server.env.logLines().filter((line) => line.errorInstanceId === data?.errorInstanceId);
    expect(logged).toHaveLength(1);

    const unauthenticated = createNotepadClient({ url: server.baseUrl, token: 'np_wrong' });
    expect(errorDataOf(await rejection(unauthenticated.notepad.exportJobs.get.query({ exportJobRid: 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000' })))).toMatchObject({
      errorName: 'InvalidCredentials',
      httpStatus: 401,
    });
    const invalid = errorDataOf(await rejection(client.notepad.exportJobs.get.query({ exportJobRid: 'not-a-rid' })));
    expect(invalid).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'exportJobRid' } });
  });

  it('exportPdf creates, waits and downloads the PDF', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: user.token });
    const result = await exportPdf(client, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }, { timeoutMs: 20_000 });
    expect(result.job.status.type).toBe('succeeded');
    const meta = await client.notepad.files.get.query({ fileRid: result.fileRid });
    expect(meta).toMatchObject({ rid: result.fileRid, exportJobRid: result.job.rid, mediaType: 'application/pdf', sizeBytes: result.bytes.length });
    expect(meta.sha256).toBe(createHash('sha256').update(result.bytes).digest('hex'));
    expect(Object.keys(meta).sort()).toEqual(['createdTime', 'expiresTime', 'exportJobRid', 'filename', 'mediaType', 'rid', 'sha256', 'sizeBytes']);
    const pdf = await readPdf(result.bytes);
    expect(squash(pdf.pages.join(' '))).toContain(squash(new Intl.NumberFormat('ja-JP').format(1234567.891)));
  });

  it('exportPdf surfaces service errors as NotepadClientError with errorName', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: user.token });
    const error = await rejection(
      exportPdf(client, { exportJobSource: { type: 'documentSource', documentRid: 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000' }, exportJobTarget: target }),
    );
    expect(error).toBeInstanceOf(NotepadClientError);
    expect(error).toMatchObject({ errorName: 'DocumentNotFound', errorCode: 'NOT_FOUND' });
  });

  it('exportPdf is abortable and bounded by its timeout', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: user.token });
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    controller.abort(reason);
    expect(await rejection(exportPdf(client, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }, { signal: controller.signal }))).toBe(reason);

    await server.runner.stop(5_000); // nothing will finish the job now
    const timedOut = await rejection(exportPdf(client, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target }, { timeoutMs: 300 }));
    expect(timedOut).toMatchObject({ errorName: 'ExportWaitTimeout', errorCode: 'TIMEOUT' });
    server.runner.start();
  });
});
