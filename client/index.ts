import { createTRPCClient, httpLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
// Type-only: the client never loads server code, yet every input, output and error shape
// below comes from the router itself.
import type { AppRouter } from '../server/routers/index.js';
import type { ErrorData } from '../server/errors.js';
import type { CreateExportJobRequest, ExportJob } from '../server/contract/api.js';

export type {
  CreateExportJobRequest,
  ExportJob,
  ExportJobSource,
  ExportJobStatus,
  ExportJobTarget,
  FileMetadata,
  GenerateTemplateRequest,
  GenerationJob,
  GenerationJobStatus,
  SaveDocumentResponse,
  TemplateParameterValue,
  TemplateParameterDeclaration,
} from '../server/contract/api.js';
export type { Block, Content, InlineNode, Mark, ListItem, TableCell } from '../server/contract/content.js';
export type { ErrorCode, ErrorName, FoundryError } from '../server/contract/errors.js';
export type { AppRouter, ErrorData };

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type NotepadClient = TRPCClient<AppRouter>;
export type NotepadTRPCError = TRPCClientError<AppRouter>;

export interface NotepadClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 (tRPC is served at /trpc, REST at /api). */
  url: string;
  token: string;
  fetch?: typeof globalThis.fetch;
}

interface Connection {
  url: string;
  token: string;
  fetch: typeof globalThis.fetch;
}
const connections = new WeakMap<object, Connection>();

export function createNotepadClient(options: NotepadClientOptions): NotepadClient {
  const url = options.url.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, headers: () => ({ authorization: `Bearer ${options.token}` }), fetch: fetchImpl })],
  });
  connections.set(client, { url, token: options.token, fetch: fetchImpl });
  return client;
}

/**
 * An error from the service with the Foundry fields, whether it came from a procedure
 * (`errorName` from the catalog) or from the export helper (`ExportJobFailed`,
 * `ExportWaitTimeout`, `FileDownloadFailed`).
 */
export class NotepadClientError extends Error {
  constructor(
    readonly errorName: string,
    readonly errorCode: string,
    message: string,
    readonly parameters: Record<string, unknown> = {},
    readonly errorInstanceId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NotepadClientError';
  }
}

/** The Foundry error fields of a tRPC client error, if it is one of ours. */
export function errorDataOf(error: unknown): ErrorData | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = (error as NotepadTRPCError).data as ErrorData | null | undefined;
  return data && typeof data.errorName === 'string' ? data : undefined;
}

function asClientError(error: unknown): unknown {
  const data = errorDataOf(error);
  if (!data) return error;
  return new NotepadClientError(data.errorName, data.errorCode, data.errorDescription, data.parameters, data.errorInstanceId, { cause: error });
}

export interface ExportPdfOptions {
  signal?: AbortSignal;
  /** Overall bound on create + wait + download; default 120 s. */
  timeoutMs?: number;
  /** First poll delay; it doubles up to maxPollMs, with jitter. */
  initialPollMs?: number;
  maxPollMs?: number;
}

export interface ExportedPdf {
  job: ExportJob;
  fileRid: string;
  bytes: Uint8Array;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates an export job, waits for it with exponential backoff, and downloads the PDF.
 * Abortable through `signal`; bounded by `timeoutMs`. Service errors surface as
 * NotepadClientError carrying `errorName`.
 */
export async function exportPdf(client: NotepadClient, request: CreateExportJobRequest, options: ExportPdfOptions = {}): Promise<ExportedPdf> {
  const connection = connections.get(client);
  if (!connection) throw new TypeError('exportPdf needs a client made by createNotepadClient');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const timedOut = () => deadline.aborted && !options.signal?.aborted;

  try {
    let job = await client.notepad.exportJobs.create.mutate(request, { signal });
    let delay = options.initialPollMs ?? 100;
    const maxDelay = options.maxPollMs ?? 2_000;
    while (job.status.type === 'running') {
      await sleep(delay * (0.8 + Math.random() * 0.4), signal);
      delay = Math.min(delay * 2, maxDelay);
      job = await client.notepad.exportJobs.get.query({ exportJobRid: job.rid }, { signal });
    }
    if (job.status.type === 'failed') {
      throw new NotepadClientError('ExportJobFailed', job.status.errorCode ?? 'INTERNAL', job.status.errorMessage, { exportJobRid: job.rid }, job.status.errorInstanceId);
    }
    const { fileRid } = job.status;
    const response = await connection.fetch(`${connection.url}/api/v2/notepad/files/${encodeURIComponent(fileRid)}/content?preview=true`, {
      headers: { authorization: `Bearer ${connection.token}` },
      signal,
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as Partial<ErrorData>;
      throw new NotepadClientError(body.errorName ?? 'FileDownloadFailed', body.errorCode ?? 'INTERNAL', body.errorDescription ?? `HTTP ${response.status}`, body.parameters ?? {}, body.errorInstanceId);
    }
    return { job, fileRid, bytes: new Uint8Array(await response.arrayBuffer()) };
  } catch (error) {
    if (timedOut()) {
      throw new NotepadClientError('ExportWaitTimeout', 'TIMEOUT', `The export did not complete within ${timeoutMs} ms.`, {}, undefined, { cause: error });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    throw asClientError(error);
  }
}
