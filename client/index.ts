import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, TRPCClientError, type TRPCClient } from '@trpc/client';
// Node 20 has no EventSource, and a browser's cannot send an Authorization header: this one takes a fetch.
import { EventSource } from 'eventsource';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
// Type-only: the client never loads server code, yet every input, output and error shape
// below comes from the router itself.
import type { AppRouter } from '../server/routers/index.js';
import type { ErrorData } from '../server/errors.js';
import type { CreateExportJobRequest, ExportJob, ExportJobProgress } from '../server/contract/api.js';

export type {
  CreateExportJobRequest,
  ExportJob,
  ExportJobProgress,
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
  const authorization = `Bearer ${options.token}`;
  const client = createTRPCClient<AppRouter>({
    links: [
      // Subscriptions (notepad.exportJobs.watch) over tRPC's SSE transport, the rest over plain HTTP.
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) => fetchImpl(input, { ...init, headers: { ...init?.headers, authorization } }),
          },
        }),
        false: httpLink({ url: `${url}/trpc`, headers: () => ({ authorization }), fetch: fetchImpl }),
      }),
    ],
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
  /** Overall bound on create + wait + download; default 120 s. Past it the job is cancelled like an abort. */
  timeoutMs?: number;
  /** Told each progress the job reports while it runs (queued, rendering with pages so far, storing). */
  onProgress?: (progress: ExportJobProgress, job: ExportJob) => void;
  /** Cancel the job on the server when `signal` aborts or the timeout passes; default true. */
  cancelOnAbort?: boolean;
  /** Polling (only when the watch subscription fails): first delay, doubled up to maxPollMs, with jitter. */
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

/** A failure worth retrying with the same idempotency key: the request may never have arrived, or the service was briefly unable. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const data = errorDataOf(error);
  if (!data) return true; // no answer from the service: a network failure
  return data.httpStatus >= 500 || data.httpStatus === 429;
}

const CREATE_ATTEMPTS = 4;

/**
 * Creates the job with one idempotency key for the whole call, so retrying a create whose
 * answer was lost can never make a second job.
 */
async function createOnce(client: NotepadClient, request: CreateExportJobRequest, signal: AbortSignal): Promise<ExportJob> {
  const idempotencyKey = `exportPdf-${globalThis.crypto.randomUUID()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.notepad.exportJobs.create.mutate({ ...request, idempotencyKey }, { signal });
    } catch (error) {
      if (attempt >= CREATE_ATTEMPTS || signal.aborted || !isTransient(error)) throw error;
      await sleep(200 * 2 ** (attempt - 1), signal);
    }
  }
}

/** Why following a job by `watch` stopped without its end: the caller falls back to polling. */
class WatchUnavailable extends Error {}

/**
 * Follows the job by the watch subscription until it ends. A contract error (the job is not
 * found) is the caller's; any other failure of the subscription is WatchUnavailable.
 */
function followByWatch(client: NotepadClient, job: ExportJob, signal: AbortSignal, onJob: (job: ExportJob) => void): Promise<ExportJob> {
  return new Promise<ExportJob>((resolve, reject) => {
    let last = job;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      subscription.unsubscribe();
      outcome();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    const subscription = client.notepad.exportJobs.watch.subscribe(
      { exportJobRid: job.rid },
      {
        onData: ({ data }) => {
          last = data;
          onJob(data);
          if (data.status.type !== 'running') finish(() => resolve(data));
        },
        onError: (error) => finish(() => reject(errorDataOf(error) ? error : new WatchUnavailable('the watch subscription failed', { cause: error }))),
        // EventSource would retry a failed connection forever, silently: poll instead.
        onConnectionStateChange: (state) => {
          if (state.state === 'connecting' && state.error) finish(() => reject(new WatchUnavailable('the watch subscription cannot connect', { cause: state.error })));
        },
        // Completed without an end (the server went away cleanly): poll for the rest.
        onComplete: () => finish(() => (last.status.type === 'running' ? reject(new WatchUnavailable('the watch ended early')) : resolve(last))),
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function followByPolling(client: NotepadClient, job: ExportJob, signal: AbortSignal, options: ExportPdfOptions, onJob: (job: ExportJob) => void): Promise<ExportJob> {
  let delay = options.initialPollMs ?? 100;
  const maxDelay = options.maxPollMs ?? 2_000;
  while (job.status.type === 'running') {
    await sleep(delay * (0.8 + Math.random() * 0.4), signal);
    delay = Math.min(delay * 2, maxDelay);
    job = await client.notepad.exportJobs.get.query({ exportJobRid: job.rid }, { signal });
    onJob(job);
  }
  return job;
}

/**
 * Creates an export job (with an idempotency key, so its own retries never duplicate it),
 * follows it by the `watch` subscription (polling only if that fails), reports its progress,
 * and downloads the PDF. Abortable through `signal` and bounded by `timeoutMs`: either cancels
 * the job on the server unless `cancelOnAbort` is false. Service errors surface as
 * NotepadClientError carrying `errorName`.
 */
export async function exportPdf(client: NotepadClient, request: CreateExportJobRequest, options: ExportPdfOptions = {}): Promise<ExportedPdf> {
  const connection = connections.get(client);
  if (!connection) throw new TypeError('exportPdf needs a client made by createNotepadClient');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const timedOut = () => deadline.aborted && !options.signal?.aborted;
  const onJob = (job: ExportJob) => {
    if (job.progress) options.onProgress?.(job.progress, job);
  };

  let job: ExportJob | undefined;
  try {
    job = await createOnce(client, request, signal);
    try {
      job = await followByWatch(client, job, signal, onJob);
    } catch (error) {
      if (!(error instanceof WatchUnavailable)) throw error;
      job = await followByPolling(client, job, signal, options, onJob);
    }
    if (job.status.type === 'failed') {
      throw new NotepadClientError('ExportJobFailed', job.status.errorCode ?? 'INTERNAL', job.status.errorMessage, { exportJobRid: job.rid }, job.status.errorInstanceId);
    }
    if (job.status.type !== 'succeeded') throw new Error('unreachable: the job is still running');
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
    if (signal.aborted && job?.status.type === 'running' && options.cancelOnAbort !== false) {
      // Best effort, and not bound by the aborted signal: the caller is gone, the render need not go on.
      await client.notepad.exportJobs.cancel.mutate({ exportJobRid: job.rid }).catch(() => undefined);
    }
    if (timedOut()) {
      throw new NotepadClientError('ExportWaitTimeout', 'TIMEOUT', `The export did not complete within ${timeoutMs} ms.`, {}, undefined, { cause: error });
    }
    if (options.signal?.aborted) throw options.signal.reason;
    throw asClientError(error);
  }
}
