import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportJobs, Files, GenerationJobs, Templates } from '@osdk/foundry.notepad';
import { PalantirApiError } from '@osdk/shared.net.errors';
import * as admin from '../server/services/admin.js';
import { seedDocument, seedUser } from './helpers.js';
import { startLiveServer, type LiveServer } from './live-server.js';
import { CALENDAR_DATE_OPTIONS } from '../server/render/format.js';
import { readPdf, squash } from './render-pdf-text.js';

let server: LiveServer;
let user: { userId: string; token: string };
let documentRid: string;

/** The official client's context: our base URL and a fetch that adds the bearer token. */
const contextFor = (token: string) => ({
  baseUrl: server.baseUrl,
  tokenProvider: async () => token,
  fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  },
});

/** The client returns (rather than throws) a PalantirApiError when given a plain fetch. */
async function apiError(call: Promise<unknown>): Promise<PalantirApiError> {
  const outcome = await call.then(
    (value) => value,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(PalantirApiError);
  return outcome as PalantirApiError;
}

async function waitFor<T>(poll: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const value = await poll();
    if (done(value)) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

beforeAll(async () => {
  server = await startLiveServer();
  user = await seedUser(server.env.deps);
  documentRid = await seedDocument(server.env.deps, user.userId, { title: 'Report: Q3 \\ "final"' });
});
afterAll(() => server.close());

describe('@osdk/foundry.notepad against the REST adapter', () => {
  it('ExportJobs.create, ExportJobs.get until succeeded, Files.content returns the PDF', async () => {
    const ctx = contextFor(user.token);
    const job = await ExportJobs.create(
      ctx,
      { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'de-DE', userTimezone: 'Europe/Berlin' } },
      { preview: true },
    );
    expect(job).toEqual({ rid: expect.stringMatching(/^ri\.notepad\.main\.export-job\./), status: { type: 'running' } });

    const done = await waitFor(
      () => ExportJobs.get(ctx, job.rid, { preview: true }),
      (j) => j.status.type !== 'running',
    );
    expect(done.status.type).toBe('succeeded');
    if (done.status.type !== 'succeeded') return;

    const response = (await Files.content(ctx, done.status.fileRid, { preview: true })) as Response;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Report_ Q3 _ _final_.pdf"; filename*=UTF-8''Report_%20Q3%20_%20_final_.pdf`,
    );
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(bytes.length);
    const text = squash((await readPdf(bytes)).pages.join('\n'));
    expect(text).toContain('Quarterly report');
    expect(text).toContain('1.234.567,891');
  });

  it('errors come back as PalantirApiError with errorName and statusCode', async () => {
    const ctx = contextFor(user.token);
    const missing = await apiError(
      ExportJobs.create(
        ctx,
        { exportJobSource: { type: 'documentSource', documentRid: 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000' }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } },
        { preview: true },
      ),
    );
    expect(missing).toMatchObject({ errorName: 'DocumentNotFound', errorCode: 'NOT_FOUND', statusCode: 404 });

    const locale = await apiError(
      ExportJobs.create(ctx, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en_US', userTimezone: 'Etc/UTC' } }, { preview: true }),
    );
    expect(locale).toMatchObject({ errorName: 'InvalidExportJobUserLocale', statusCode: 400, parameters: { userLocale: 'en_US' } });

    const noPreview = await apiError(
      ExportJobs.create(ctx, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } }, {}),
    );
    expect(noPreview).toMatchObject({ errorName: 'ApiFeaturePreviewUsageOnly', statusCode: 400 });

    const badToken = await apiError(ExportJobs.get(contextFor('np_nope'), 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000', { preview: true }));
    expect(badToken).toMatchObject({ errorName: 'InvalidCredentials', statusCode: 401 });

    const intruder = await seedUser(server.env.deps, { name: 'Intruder' });
    const job = await ExportJobs.create(
      ctx,
      { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } },
      { preview: true },
    );
    const hidden = await apiError(ExportJobs.get(contextFor(intruder.token), job.rid, { preview: true }));
    expect(hidden).toMatchObject({ errorName: 'ExportJobNotFound', statusCode: 404, parameters: { exportJobRid: job.rid } });
    const done = await waitFor(() => ExportJobs.get(ctx, job.rid, { preview: true }), (j) => j.status.type !== 'running');
    if (done.status.type !== 'succeeded') throw new Error('expected success');
    const denied = await apiError(Files.content(contextFor(intruder.token), done.status.fileRid, { preview: true }));
    expect(denied).toMatchObject({ errorName: 'ContentFilePermissionDenied', statusCode: 403 });
    const unknownFile = await apiError(Files.content(ctx, 'ri.notepad.main.file.00000000-0000-4000-8000-000000000000', { preview: true }));
    expect(unknownFile).toMatchObject({ errorName: 'FileNotFound', statusCode: 404 });
  });

  it('Templates.generate, GenerationJobs.get, saveDocument, then an export of the generation job', async () => {
    const ctx = contextFor(user.token);
    const { templateRid } = await admin.createTemplate(server.env.deps, {
      title: 'Invoice',
      ownerId: user.userId,
      content: {
        blocks: [
          { type: 'heading', level: 1, content: [{ type: 'text', text: 'Invoice for ' }, { type: 'parameter', name: 'customer' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'Amount: ' }, { type: 'parameter', name: 'amount' }, { type: 'text', text: ' due ' }, { type: 'parameter', name: 'due' }] },
        ],
      },
      parameters: [
        { name: 'customer', type: 'string', required: true },
        { name: 'amount', type: 'double', required: true },
        { name: 'due', type: 'date', required: true },
      ],
    });
    const { folderRid } = await admin.createFolder(server.env.deps, { name: 'Invoices', ownerId: user.userId });

    const generationJobRid = await Templates.generate(
      ctx,
      templateRid,
      {
        templateParameters: {
          customer: { type: 'string', value: 'Ελένη Παπαδοπούλου' },
          amount: { type: 'double', value: 9876.5 },
          due: { type: 'date', value: '2026-12-24' },
        },
      },
      { preview: true },
    );
    expect(generationJobRid).toMatch(/^ri\.notepad\.main\.generation-job\./);
    const generated = await waitFor(
      () => GenerationJobs.get(ctx, templateRid, generationJobRid, { preview: true }),
      (j) => j.status.type !== 'running',
    );
    expect(generated).toEqual({ rid: generationJobRid, status: { type: 'succeeded' } });

    const saved = await GenerationJobs.saveDocument(ctx, templateRid, generationJobRid, { request: { parentFolderRid: folderRid, documentName: 'Invoice 1' } }, { preview: true });
    expect(saved.documentRid).toMatch(/^ri\.notepad\.main\.notepad\./);
    const again = await apiError(
      GenerationJobs.saveDocument(ctx, templateRid, generationJobRid, { request: { parentFolderRid: folderRid, documentName: 'Invoice 1' } }, { preview: true }),
    );
    expect(again).toMatchObject({ errorName: 'ResourceNameAlreadyExists', statusCode: 409 });

    for (const source of [
      { type: 'generationJobSource' as const, generationJobRid, templateRid },
      { type: 'documentSource' as const, documentRid: saved.documentRid },
    ]) {
      const job = await ExportJobs.create(ctx, { exportJobSource: source, exportJobTarget: { type: 'pdf', userLocale: 'fr-FR', userTimezone: 'Europe/Paris' } }, { preview: true });
      const done = await waitFor(() => ExportJobs.get(ctx, job.rid, { preview: true }), (j) => j.status.type !== 'running');
      if (done.status.type !== 'succeeded') throw new Error(`export failed: ${JSON.stringify(done.status)}`);
      const response = (await Files.content(ctx, done.status.fileRid, { preview: true })) as Response;
      const text = squash((await readPdf(new Uint8Array(await response.arrayBuffer()))).pages.join('\n'));
      expect(text).toContain('Invoice for Ελένη Παπαδοπούλου');
      expect(text).toContain(squash(new Intl.NumberFormat('fr-FR').format(9876.5)));
      expect(text).toContain(squash(new Intl.DateTimeFormat('fr-FR', CALENDAR_DATE_OPTIONS).format(Date.UTC(2026, 11, 24))));
    }
  });
});
