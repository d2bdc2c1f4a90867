/**
 * The public Notepad operations, once: scope, input and output schemas and the service
 * call. The tRPC router builds its procedures from this table and the REST adapter calls
 * the same entries, so both transports authorize, validate and answer identically without
 * REST paying for an in-process tRPC call (its middleware chain) on every request.
 */
import type { z } from 'zod';
import type { ErrorName } from './contract/errors.js';
import {
  CreateExportJobInput,
  ExportJob,
  FileMetadata,
  GenerateTemplateInput,
  GenerationJob,
  GetExportJobRequest,
  GetFileRequest,
  GetGenerationJobRequest,
  WatchExportJobRequest,
  ListExportJobsRequest,
  ListExportJobsResponse,
  SaveDocumentInput,
  SaveDocumentResponse,
  SCOPES,
  type Scope,
} from './contract/api.js';
import { GenerationJobRid } from './contract/rids.js';
import type { Deps } from './deps.js';
import type { RunOutcome } from './idempotency.js';
import type { Principal } from './services/auth.js';
import { cancelExportJob, createExportJob, getExportJob, listExportJobs } from './services/export-jobs.js';
import { getFile } from './services/files.js';
import { generateFromTemplate, getGenerationJob, saveGeneratedDocument } from './services/templates.js';

/**
 * Errors every route may answer before an operation's own checks run (docs/api.md, "Check
 * orders"): credentials (401) and the token's rate limit (429), the scope (403), the HTTP
 * limits (408, 413, 431), malformed input or a batch over its cap (400), an unknown route (404).
 */
export const TRANSPORT_ERRORS: readonly ErrorName[] = [
  'MissingCredentials',
  'InvalidCredentials',
  'ApiUsageDenied',
  'Default:InvalidArgument',
  'Default:NotFound',
  'Default:RequestEntityTooLarge',
  'Default:RequestTimeout',
  'Default:RequestHeaderFieldsTooLarge',
  'Default:TooManyRequests',
];
/** REST adds the preview check to every route ... */
export const REST_ONLY_ERRORS: readonly ErrorName[] = ['ApiFeaturePreviewUsageOnly'];
/** ... and to every POST route the body check. */
export const POST_BODY_ERRORS: readonly ErrorName[] = ['MissingPostBody'];
/** A fault of the server, never the caller's: possible anywhere, expected nowhere (a test that sees one fails). */
export const SERVER_FAULTS: readonly ErrorName[] = ['Default:Internal'];

export interface Operation<Input extends z.ZodType, Output extends z.ZodType> {
  scope: Scope;
  input: Input;
  /** Also what keeps internal fields out of responses: zod drops keys the schema does not name. */
  output: Output;
  /**
   * The errors the operation itself answers, in the order it checks them (the first that
   * fails is answered), beyond the transport's (TRANSPORT_ERRORS and, over REST, REST_ONLY_ERRORS
   * and POST_BODY_ERRORS). The OpenAPI document and docs/api.md's check orders say this.
   */
  errors: readonly ErrorName[];
  /** `outcome` hears what the answer alone does not say (a replay of an idempotent create). */
  run(deps: Deps, principal: Principal, input: z.output<Input>, outcome?: RunOutcome): z.input<Output> | Promise<z.input<Output>>;
}

const operation = <Input extends z.ZodType, Output extends z.ZodType>(op: Operation<Input, Output>) => op;

/** Both ways a generation job can be unusable as a source, in the order they are checked. */
const GENERATION_JOB_STATUS: readonly ErrorName[] = ['GenerationJobStatusRunning', 'GenerationJobStatusFailed'];

export const operations = {
  createExportJob: operation({
    scope: SCOPES.export,
    input: CreateExportJobInput,
    output: ExportJob,
    errors: [
      // A condition of the service, before any check: its storage cannot take new work.
      'StorageFull',
      // Only with an Idempotency-Key: the key came before with another request.
      'IdempotencyKeyReused',
      'CreateExportJobPermissionDenied',
      'InvalidExportJobUserLocale',
      'InvalidTimezone',
      'DocumentNotFound',
      'ExportDocumentPermissionDenied',
      'GenerationJobNotFound',
      'ExportGenerationJobPermissionDenied',
      ...GENERATION_JOB_STATUS,
      // The contract's 429: this service's quotas, after all of the above.
      'TooManyActiveExportJobs',
      'StorageQuotaExceeded',
    ],
    run: (deps, principal, input, outcome) => createExportJob(deps, principal, input, outcome),
  }),
  getExportJob: operation({
    scope: SCOPES.export,
    input: GetExportJobRequest,
    output: ExportJob,
    errors: ['ExportJobNotFound'],
    run: (deps, principal, input) => getExportJob(deps, principal, input.exportJobRid),
  }),
  /** An extension (docs/api.md, "Extensions"): the caller's jobs, newest first, a page at a time. */
  listExportJobs: operation({
    scope: SCOPES.export,
    input: ListExportJobsRequest,
    output: ListExportJobsResponse,
    // A bad pageSize, pageToken or status is the input schema's Default:InvalidArgument.
    errors: [],
    run: (deps, principal, input) => listExportJobs(deps, principal, input),
  }),
  /** An extension: ends a running job `failed` (CANCELLED); a finished job is answered unchanged. */
  cancelExportJob: operation({
    scope: SCOPES.export,
    input: GetExportJobRequest,
    output: ExportJob,
    errors: ['ExportJobNotFound'],
    run: (deps, principal, input) => cancelExportJob(deps, principal, input.exportJobRid),
  }),
  /**
   * An extension: the job's changes as they happen (REST's event stream, tRPC's watch). Its
   * checks are exportJobs.get's, answered before the stream starts; `run` answers the job now.
   */
  watchExportJob: operation({
    scope: SCOPES.export,
    input: WatchExportJobRequest,
    output: ExportJob,
    errors: ['ExportJobNotFound'],
    run: (deps, principal, input) => getExportJob(deps, principal, input.exportJobRid),
  }),
  /** The file's metadata; the bytes come from REST `files/{fileRid}/content`, with the same checks. */
  getFile: operation({
    scope: SCOPES.export,
    input: GetFileRequest,
    output: FileMetadata,
    errors: ['FileNotFound', 'ContentFilePermissionDenied'],
    run: (deps, principal, input) => getFile(deps, principal, input.fileRid),
  }),
  /** Returns the new GenerationJobRid as a bare string, as Foundry does. */
  generateFromTemplate: operation({
    scope: SCOPES.write,
    input: GenerateTemplateInput,
    output: GenerationJobRid,
    errors: [
      'StorageFull',
      'IdempotencyKeyReused',
      'TemplateNotFound',
      'GenerateTemplatePermissionDenied',
      'InvalidGenerationJobTemplateVersion',
      'MissingGenerationJobTemplateParameters',
      // Each supplied value in name order: whichever is wrong first, its type or value (a dateTime's zone included).
      'InvalidGenerationJobTemplateParameter',
      'TooManyActiveGenerationJobs',
      'StorageQuotaExceeded',
    ],
    run: (deps, principal, input, outcome) => generateFromTemplate(deps, principal, input, outcome),
  }),
  getGenerationJob: operation({
    scope: SCOPES.write,
    input: GetGenerationJobRequest,
    output: GenerationJob,
    errors: ['GenerationJobNotFound'],
    run: (deps, principal, input) => getGenerationJob(deps, principal, input.templateRid, input.generationJobRid),
  }),
  saveGeneratedDocument: operation({
    scope: SCOPES.write,
    input: SaveDocumentInput,
    output: SaveDocumentResponse,
    errors: [
      'GenerationJobNotFound',
      'SaveDocumentGenerationJobPermissionDenied',
      ...GENERATION_JOB_STATUS,
      'InvalidFolder',
      'FolderNotFound',
      'CreateDocumentPermissionDenied',
      'InvalidDisplayName',
      'ResourceNameAlreadyExists',
    ],
    run: (deps, principal, input) => saveGeneratedDocument(deps, principal, input),
  }),
};
