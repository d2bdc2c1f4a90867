import { describe, expectTypeOf, it } from 'vitest';
import {
  createNotepadClient,
  errorDataOf,
  exportPdf,
  type ErrorName,
  type ExportJob,
  type ExportJobStatus,
  type FileMetadata,
  type RouterInputs,
} from '../client/index.js';

const client = createNotepadClient({ url: 'http://127.0.0.1:1', token: 't' });
const documentRid = 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000';

describe('typed client', () => {
  it('create takes the contract request and returns an ExportJob', () => {
    expectTypeOf(client.notepad.exportJobs.create.mutate).parameter(0).toEqualTypeOf<RouterInputs['notepad']['exportJobs']['create']>();
    expectTypeOf(client.notepad.exportJobs.create.mutate).returns.resolves.toEqualTypeOf<ExportJob>();
    expectTypeOf(client.notepad.files.get.query).returns.resolves.toEqualTypeOf<FileMetadata>();
  });

  it('ExportJobStatus narrows on type', () => {
    const status = {} as ExportJobStatus;
    if (status.type === 'succeeded') expectTypeOf(status.fileRid).toEqualTypeOf<string>();
    if (status.type === 'failed') {
      expectTypeOf(status.errorMessage).toEqualTypeOf<string>();
      expectTypeOf(status.errorCode).toEqualTypeOf<string | undefined>();
    }
    // @ts-expect-error a running status has no fileRid
    if (status.type === 'running') void status.fileRid;
  });

  it('rejects a wrong source type at compile time', () => {
    void (() =>
      client.notepad.exportJobs.create.mutate({
        // @ts-expect-error not a source type of the contract
        exportJobSource: { type: 'spreadsheetSource', documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      }));
    void (() =>
      client.notepad.exportJobs.create.mutate({
        // @ts-expect-error documentRid is required for a documentSource
        exportJobSource: { type: 'documentSource' },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      }));
  });

  it('error data carries the catalog fields', () => {
    const data = errorDataOf(new Error());
    expectTypeOf(data).toEqualTypeOf<ReturnType<typeof errorDataOf>>();
    if (data) {
      expectTypeOf(data.errorName).toEqualTypeOf<ErrorName>();
      expectTypeOf(data.parameters).toEqualTypeOf<Record<string, unknown>>();
      expectTypeOf(data.errorInstanceId).toEqualTypeOf<string>();
    }
  });

  it('exportPdf returns bytes', () => {
    expectTypeOf(exportPdf).returns.resolves.toHaveProperty('bytes').toEqualTypeOf<Uint8Array>();
  });
});
