/**
 * Where a thrown value becomes what a client and the log see, for every transport: the
 * catalog error (toNotepadError), its HTTP status, the REST body, the tRPC error shape
 * (the procedures' errorFormatter and errors raised outside any procedure), and the log
 * line. trpc.ts, app.ts and rest.ts call these and build nothing of their own.
 */
import { STATUS_CODES } from 'node:http';
import { TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { ERROR_CODES, ERRORS, invalidArgument, NotepadError, type FoundryError } from './contract/errors.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Log } from './log.js';

const converted = new WeakMap<object, NotepadError>();

interface IssueLike {
  path: PropertyKey[];
  message: string;
}
const hasIssues = (value: unknown): value is { issues: IssueLike[] } =>
  typeof value === 'object' && value !== null && Array.isArray((value as { issues?: unknown }).issues);

/**
 * Any thrown value as the NotepadError the client sees. Memoised per error object, so the
 * tRPC formatter, the REST handler and the log line all report the same errorInstanceId.
 */
export function toNotepadError(error: unknown): NotepadError {
  if (error instanceof NotepadError) return error;
  if (typeof error === 'object' && error !== null) {
    const seen = converted.get(error);
    if (seen) return seen;
    const result = convert(error);
    converted.set(error, result);
    return result;
  }
  return new NotepadError('Default:Internal', {}, { cause: error });
}

function convert(error: object): NotepadError {
  if (error instanceof TRPCError) {
    // A NotepadError thrown in a procedure or middleware reaches tRPC's handlers wrapped.
    if (error.cause instanceof NotepadError) return error.cause;
    // Input validation: tRPC wraps the schema's issues in BAD_REQUEST. Output validation
    // wraps them too, in INTERNAL_SERVER_ERROR, and that stays a server fault below.
    if (error.code === 'BAD_REQUEST' && hasIssues(error.cause)) return invalidArgument(error.cause.issues, error);
    switch (error.code) {
      case 'BAD_REQUEST':
      case 'PARSE_ERROR':
      // tRPC's answer to a body it cannot read (text/plain, none, or PUT/DELETE with no body):
      // a bad request, not a server fault.
      case 'UNSUPPORTED_MEDIA_TYPE':
      case 'UNPROCESSABLE_CONTENT':
        return new NotepadError('Default:InvalidArgument', { message: error.message }, { cause: error });
      case 'NOT_FOUND':
      case 'METHOD_NOT_SUPPORTED':
        return new NotepadError('Default:NotFound', {}, { cause: error });
      case 'PAYLOAD_TOO_LARGE':
        return new NotepadError('Default:RequestEntityTooLarge', {}, { cause: error });
      case 'TIMEOUT':
        return new NotepadError('Default:Timeout', {}, { cause: error });
      default:
        return new NotepadError('Default:Internal', {}, { cause: error });
    }
  }
  if (hasIssues(error)) return invalidArgument(error.issues, error);
  const clientError = fromClientError(error);
  if (clientError) return clientError;
  // Fastify's own errors (body too large, bad content) carry an HTTP status.
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (statusCode === 413) return new NotepadError('Default:RequestEntityTooLarge', {}, { cause: error });
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new NotepadError('Default:InvalidArgument', { message: (error as Error).message }, { cause: error });
  }
  return new NotepadError('Default:Internal', {}, { cause: error });
}

/**
 * What Node's HTTP server reports on its `clientError` event: a request not received in time
 * (headersTimeout, requestTimeout), or one its parser (llhttp, `HPE_*` codes) refused.
 */
function fromClientError(error: object): NotepadError | undefined {
  const { code, reason } = error as { code?: unknown; reason?: unknown };
  if (typeof code !== 'string') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new NotepadError('Default:RequestTimeout', {}, { cause: error });
  if (code === 'HPE_HEADER_OVERFLOW') return new NotepadError('Default:RequestHeaderFieldsTooLarge', {}, { cause: error });
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return new NotepadError('Default:RequestEntityTooLarge', {}, { cause: error });
  if (code.startsWith('HPE_')) {
    // llhttp's reason names the fault: "Invalid character in chunk size", "Invalid char in url path", …
    return new NotepadError('Default:InvalidArgument', { message: typeof reason === 'string' ? reason : (error as Error).message }, { cause: error });
  }
  return undefined;
}

/**
 * The TRPCError a procedure rejects with: the catalog's tRPC code, the NotepadError as its
 * cause (so toNotepadError finds the same instance and errorInstanceId again).
 */
export function toTrpcError(error: unknown): TRPCError {
  const notepad = toNotepadError(error);
  if (error instanceof TRPCError && error.cause === notepad && error.code === ERROR_CODES[notepad.errorCode].trpc) return error;
  return new TRPCError({ code: ERROR_CODES[notepad.errorCode].trpc, message: notepad.message, cause: notepad });
}

export function httpStatusOf(error: NotepadError): number {
  return ERROR_CODES[error.errorCode].http;
}

/** The JSON body of a REST error response. */
export function errorBody(error: NotepadError): FoundryError {
  return {
    errorCode: error.errorCode,
    errorName: error.errorName,
    errorDescription: ERRORS[error.errorName].description,
    errorInstanceId: error.errorInstanceId,
    parameters: error.parameters,
  };
}

/** `error.data` of a tRPC error: the REST body, plus the status tRPC answers with. */
export type ErrorData = FoundryError & { httpStatus: number };

/**
 * A tRPC error's shape: the JSON-RPC code follows the catalog too, so envelope and data
 * never disagree. tRPC takes the HTTP status from `data.httpStatus`.
 */
export function trpcErrorShape(error: NotepadError): { code: number; message: string; data: ErrorData } {
  return {
    code: TRPC_ERROR_CODES_BY_KEY[ERROR_CODES[error.errorCode].trpc],
    message: error.message,
    data: { ...errorBody(error), httpStatus: httpStatusOf(error) },
  };
}

/**
 * One log line per error answered, under the errorInstanceId the client got: server
 * faults at `error` with their cause, the caller's mistakes at `info`. `what` failed:
 * a request (REST, or anything outside a procedure) or a tRPC procedure.
 */
export function logError(log: Log, error: NotepadError, what: 'request' | 'procedure' = 'request'): void {
  const status = httpStatusOf(error);
  const fields = { errorInstanceId: error.errorInstanceId, errorName: error.errorName, errorCode: error.errorCode, statusCode: status };
  if (status >= 500) log.error({ ...fields, err: error.cause ?? error }, `${what} failed`);
  else log.info(fields, `${what} rejected`);
}

/** How an error outside any procedure is wrapped: tRPC's envelope under /trpc, the REST body elsewhere. */
export type Envelope = 'rest' | 'trpc';

/** The envelope for a request target (a path, with or without its query). */
export const envelopeOf = (url: string): Envelope => (/^\/trpc(?:[/?]|$)/.test(url) ? 'trpc' : 'rest');

const bodyText = (error: NotepadError, envelope: Envelope) => JSON.stringify(envelope === 'trpc' ? { error: trpcErrorShape(error) } : errorBody(error));

/**
 * Answers any thrown value as the catalog error, logged: the REST body, or under /trpc
 * (an error raised before any procedure ran: router, body parser) tRPC's envelope.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, envelope: Envelope = 'rest'): FastifyReply {
  const notepad = toNotepadError(error);
  logError(request.log, notepad);
  reply.headers(retryHeadersOf([notepad]));
  return reply.status(httpStatusOf(notepad)).header('Content-Type', 'application/json; charset=utf-8').send(bodyText(notepad, envelope));
}

/**
 * The same answer as a whole HTTP/1.1 response, for a socket no request object serves (a
 * `clientError` before any request reached the router); the connection closes after it.
 * The caller logs the error (logError) under the errorInstanceId the body carries.
 */
export function rawErrorResponse(error: NotepadError, envelope: Envelope): string {
  const status = httpStatusOf(error);
  const body = bodyText(error, envelope);
  const retryHeaders = Object.entries(retryHeadersOf([error])).map(([name, value]) => `${name}: ${value}`);
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...retryHeaders,
    '',
    body,
  ].join('\r\n');
}

/**
 * How long Palantir's retrying fetch (@osdk/shared.net.fetch) keeps trying a 429 or 503:
 * three retries after about 1, 2 and 4 seconds.
 */
export const CLIENT_RETRY_HORIZON_SECONDS = 8;

/**
 * The retry headers of a response that answers these errors: Retry-After, the longest
 * wait any of them asks for; and, when that is past what a retrying client would wait
 * (a storage quota that frees in hours), `QoS-Retry-Hint: do-not-retry`, which the
 * official client honours instead of retrying in vain.
 */
export function retryHeadersOf(errors: readonly NotepadError[]): Record<string, string> {
  const waits = errors.flatMap((e) => (e.retryAfterSeconds === undefined ? [] : [e.retryAfterSeconds]));
  if (waits.length === 0) return {};
  const retryAfter = Math.max(...waits);
  return { 'Retry-After': String(retryAfter), ...(retryAfter > CLIENT_RETRY_HORIZON_SECONDS ? { 'QoS-Retry-Hint': 'do-not-retry' } : {}) };
}
