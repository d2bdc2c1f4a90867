import { randomUUID } from 'node:crypto';

/**
 * The one error catalog. Every error the service returns is a NotepadError whose name is
 * a key of ERRORS; its errorCode decides the HTTP status (REST) and the tRPC code, from
 * ERROR_CODES alone, so the two transports cannot drift apart (server/errors.ts reads it).
 */

export const ERROR_CODES = {
  INVALID_ARGUMENT: { http: 400, trpc: 'BAD_REQUEST' },
  UNAUTHORIZED: { http: 401, trpc: 'UNAUTHORIZED' },
  PERMISSION_DENIED: { http: 403, trpc: 'FORBIDDEN' },
  NOT_FOUND: { http: 404, trpc: 'NOT_FOUND' },
  // A client too slow to send its request's headers or body within the server's limits.
  REQUEST_TIMEOUT: { http: 408, trpc: 'TIMEOUT' },
  CONFLICT: { http: 409, trpc: 'CONFLICT' },
  REQUEST_ENTITY_TOO_LARGE: { http: 413, trpc: 'PAYLOAD_TOO_LARGE' },
  // Headers over Node's limit; tRPC has no code of its own for it (data.httpStatus says 431).
  REQUEST_HEADER_FIELDS_TOO_LARGE: { http: 431, trpc: 'BAD_REQUEST' },
  // Quotas and rate limits; the answer carries Retry-After (NotepadError.retryAfterSeconds).
  TOO_MANY_REQUESTS: { http: 429, trpc: 'TOO_MANY_REQUESTS', retryAfter: true },
  // The published Foundry docs map FAILED_PRECONDITION to 500; so do we.
  FAILED_PRECONDITION: { http: 500, trpc: 'PRECONDITION_FAILED' },
  INTERNAL: { http: 500, trpc: 'INTERNAL_SERVER_ERROR' },
  // The service cannot take new work for now (its storage is full); answered with Retry-After.
  SERVICE_UNAVAILABLE: { http: 503, trpc: 'SERVICE_UNAVAILABLE', retryAfter: true },
  TIMEOUT: { http: 500, trpc: 'TIMEOUT' },
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether an answer with this code carries Retry-After (seconds): always, at least 1. */
export const answersWithRetryAfter = (code: ErrorCode): boolean => 'retryAfter' in ERROR_CODES[code];

const error = <C extends ErrorCode>(errorCode: C, description: string) => ({ errorCode, description });

export const ERRORS = {
  // Transport-level errors, shared by every operation.
  MissingCredentials: error('UNAUTHORIZED', 'No credentials were provided. Send an Authorization: Bearer <token> header.'),
  InvalidCredentials: error('UNAUTHORIZED', 'The provided credentials are invalid, expired or revoked.'),
  ApiUsageDenied: error('PERMISSION_DENIED', 'You are not allowed to use Palantir APIs.'),
  ApiFeaturePreviewUsageOnly: error(
    'INVALID_ARGUMENT',
    'This feature is only supported in preview mode. Please use preview=true in the query parameters to call this endpoint.',
  ),
  MissingPostBody: error('INVALID_ARGUMENT', 'A post body is required for this endpoint, but was not found in the request.'),
  'Default:InvalidArgument': error('INVALID_ARGUMENT', 'The provided value for a parameter is invalid.'),
  'Default:NotFound': error('NOT_FOUND', 'The requested resource was not found.'),
  'Default:RequestEntityTooLarge': error('REQUEST_ENTITY_TOO_LARGE', 'The request body is too large.'),
  'Default:RequestTimeout': error('REQUEST_TIMEOUT', 'The request was not received in time: its headers or body arrived too slowly.'),
  'Default:RequestHeaderFieldsTooLarge': error('REQUEST_HEADER_FIELDS_TOO_LARGE', 'The request headers are too large.'),
  'Default:TooManyRequests': error('TOO_MANY_REQUESTS', 'Too many requests. Retry after the time the Retry-After header gives.'),
  'Default:Internal': error('INTERNAL', 'An internal error occurred.'),
  'Default:Timeout': error('TIMEOUT', 'The operation timed out.'),

  // exportJobs.create, in the contract's check order.
  CreateExportJobPermissionDenied: error('PERMISSION_DENIED', 'Could not create the ExportJob.'),
  InvalidExportJobUserLocale: error('INVALID_ARGUMENT', 'The provided user locale is not valid.'),
  InvalidTimezone: error('INVALID_ARGUMENT', 'The provided timezone is not valid.'),
  DocumentNotFound: error('NOT_FOUND', 'The requested document was not found.'),
  ExportDocumentPermissionDenied: error('PERMISSION_DENIED', 'The user does not have export permissions on this Document.'),
  GenerationJobNotFound: error('NOT_FOUND', 'The given GenerationJob could not be found.'),
  ExportGenerationJobPermissionDenied: error(
    'PERMISSION_DENIED',
    'The user does not have export permissions on this GenerationJob.',
  ),
  GenerationJobStatusRunning: error(
    'FAILED_PRECONDITION',
    'The operation cannot be completed because the generation job has running status.',
  ),
  GenerationJobStatusFailed: error(
    'FAILED_PRECONDITION',
    'The operation cannot be completed because the generation job has failed status.',
  ),
  // This service's quotas (server/quotas.ts), checked after every check above and before
  // the insert: only a create that would otherwise succeed is refused, and the refusal
  // says nothing about the source. templates.generate checks the same way after its own.
  TooManyActiveExportJobs: error(
    'TOO_MANY_REQUESTS',
    'The user has as many export jobs running as the service allows. Retry once one has finished.',
  ),
  StorageQuotaExceeded: error(
    'TOO_MANY_REQUESTS',
    "The user's stored files and generated content have reached the service's limit. Retry once some have expired.",
  ),

  // exportJobs.get, files.content
  ExportJobNotFound: error('NOT_FOUND', 'The given ExportJob could not be found.'),
  FileNotFound: error('NOT_FOUND', 'The requested file was not found.'),
  ContentFilePermissionDenied: error('PERMISSION_DENIED', 'Could not content the File.'),

  // templates and generation jobs
  TemplateNotFound: error('NOT_FOUND', 'The requested template was not found.'),
  GenerateTemplatePermissionDenied: error('PERMISSION_DENIED', 'Could not generate the Template.'),
  InvalidGenerationJobTemplateVersion: error(
    'INVALID_ARGUMENT',
    "The provided template version doesn't exist or the template has no published versions.",
  ),
  MissingGenerationJobTemplateParameters: error('INVALID_ARGUMENT', 'One or more template parameters are missing.'),
  InvalidGenerationJobTemplateParameter: error(
    'INVALID_ARGUMENT',
    'A template parameter value is invalid (for example, is of the wrong type).',
  ),
  // Then the quotas: this one, and StorageQuotaExceeded (above).
  TooManyActiveGenerationJobs: error(
    'TOO_MANY_REQUESTS',
    'The user has as many generation jobs running as the service allows. Retry once one has finished.',
  ),
  CreateDocumentPermissionDenied: error(
    'PERMISSION_DENIED',
    'The user does not have permission to create a Document in the specified folder.',
  ),
  SaveDocumentGenerationJobPermissionDenied: error('PERMISSION_DENIED', 'Could not saveDocument the GenerationJob.'),
  FolderNotFound: error('NOT_FOUND', 'The requested folder could not be found.'),
  InvalidFolder: error('INVALID_ARGUMENT', 'The given resource is not a folder.'),
  ResourceNameAlreadyExists: error('CONFLICT', 'A resource with this name already exists in the folder.'),
  InvalidDisplayName: error('INVALID_ARGUMENT', 'The display name is not valid.'),

  // Conditions of this service (ours, not Foundry's)
  StorageFull: error('SERVICE_UNAVAILABLE', 'The service cannot take new work now: its storage is full. Retry later.'),
  IdempotencyKeyReused: error('CONFLICT', 'The Idempotency-Key was already used with a different request.'),

  // admin operations (ours, not Foundry's)
  UserNotFound: error('NOT_FOUND', 'The requested user was not found.'),
  ResourceNotFound: error('NOT_FOUND', 'The requested resource was not found.'),
  InvalidContent: error('INVALID_ARGUMENT', 'The provided document content is not valid.'),
} as const;
export type ErrorName = keyof typeof ERRORS;

export type ErrorParameters = Record<string, unknown>;

/** The JSON body of every error response, and `error.data` of every tRPC error. */
export interface FoundryError {
  errorCode: ErrorCode;
  errorName: ErrorName;
  errorDescription: string;
  errorInstanceId: string;
  parameters: ErrorParameters;
}

/**
 * The one error type of the domain: a catalog name, its parameters and a fresh
 * errorInstanceId. A plain Error, free of any transport: server/errors.ts turns it into
 * the REST body, the tRPC error and the log line.
 */
export class NotepadError extends Error {
  readonly errorCode: ErrorCode;
  readonly errorInstanceId: string = randomUUID();
  /** When to try again (whole seconds, at least 1): sent as Retry-After, with the codes that answer with it. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly errorName: ErrorName,
    readonly parameters: ErrorParameters = {},
    options: { cause?: unknown; message?: string; retryAfterSeconds?: number } = {},
  ) {
    super(options.message ?? `${errorName}: ${ERRORS[errorName].description}`, { cause: options.cause });
    this.name = 'NotepadError';
    this.errorCode = ERRORS[errorName].errorCode;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterSeconds));
    else this.retryAfterSeconds = answersWithRetryAfter(this.errorCode) ? 1 : undefined;
  }
}

/** Zod issues, as the parameters of a Default:InvalidArgument. */
export function invalidArgument(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, cause?: unknown) {
  const first = issues[0];
  const path = (p: ReadonlyArray<PropertyKey>) => p.map((k) => (typeof k === 'number' ? `[${k}]` : String(k))).join('.').replace(/\.\[/g, '[');
  return new NotepadError(
    'Default:InvalidArgument',
    {
      parameter: first ? path(first.path) || '(body)' : '(body)',
      message: first?.message ?? 'invalid',
      issues: issues.slice(0, 10).map((i) => ({ path: path(i.path), message: i.message })),
    },
    { cause },
  );
}
