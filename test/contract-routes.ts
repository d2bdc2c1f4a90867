import { SCOPES, type Scope } from '../server/contract/api.js';
import { ERROR_CODES, ERRORS, type ErrorName } from '../server/contract/errors.js';
import { REST_ROUTES, type RestRoute, type RestRouteName } from '../server/rest.js';

/**
 * The contract (docs/api.md) as data, for the fuzzer and the auth matrix: which errors each
 * operation may answer with, in its check order. Written from the contract, not from the
 * implementation, so that an error the server raises where the contract has none fails;
 * oracleDisagreements() (asserted by test/contract-routes.test.ts) says where this oracle and
 * server/operations.ts, the source the OpenAPI document is built from, part ways.
 */

/** Foundry's names of the operations: the server's REST routes are named so too. */
export type OperationName = RestRouteName;

export interface Operation {
  name: OperationName;
  rest: { method: 'GET' | 'POST'; /** `{name}` marks a path parameter. */ url: string };
  /** The tRPC procedure serving the same operation (files.content's bytes have none: `files.get` is their metadata). */
  trpc: { path: string; type: 'query' | 'mutation' | 'subscription' };
  scope: Scope;
  /** Errors of this operation beyond the transport ones every route shares, in check order. */
  errors: readonly ErrorName[];
  /** A 200 may add rows. */
  writes: boolean;
}

/**
 * The errors every route shares (auth, scope, the HTTP limits, the catch-alls; REST adds the
 * preview and body checks): one list, the server's, which the OpenAPI document states too.
 */
export { POST_BODY_ERRORS, REST_ONLY_ERRORS, TRANSPORT_ERRORS } from '../server/operations.js';

const GENERATION_JOB_STATUS: readonly ErrorName[] = ['GenerationJobStatusRunning', 'GenerationJobStatusFailed'];

export const OPERATIONS: readonly Operation[] = [
  {
    name: 'exportJobs.create',
    rest: { method: 'POST', url: '/api/v2/notepad/exportJobs/create' },
    trpc: { path: 'notepad.exportJobs.create', type: 'mutation' },
    scope: SCOPES.export,
    errors: [
      // A condition of the service, before any check: its storage cannot take new work.
      'StorageFull',
      // The extension (docs/api.md, "Extensions"): an Idempotency-Key sent before with another request.
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
    writes: true,
  },
  {
    name: 'exportJobs.get',
    rest: { method: 'GET', url: '/api/v2/notepad/exportJobs/{exportJobRid}' },
    trpc: { path: 'notepad.exportJobs.get', type: 'query' },
    scope: SCOPES.export,
    errors: ['ExportJobNotFound'],
    writes: false,
  },
  {
    // The extension (docs/api.md, "Extensions"): a bad pageSize, pageToken or status is the input's Default:InvalidArgument.
    name: 'exportJobs.list',
    rest: { method: 'GET', url: '/api/v2/notepad/exportJobs' },
    trpc: { path: 'notepad.exportJobs.list', type: 'query' },
    scope: SCOPES.export,
    errors: [],
    writes: false,
  },
  {
    // The extension: another user's job is as unknown as for exportJobs.get. No body needed.
    name: 'exportJobs.cancel',
    rest: { method: 'POST', url: '/api/v2/notepad/exportJobs/{exportJobRid}/cancel' },
    trpc: { path: 'notepad.exportJobs.cancel', type: 'mutation' },
    scope: SCOPES.export,
    errors: ['ExportJobNotFound'],
    writes: true,
  },
  {
    // The extension: the job's changes as Server-Sent Events; who may see them is who may get the job.
    name: 'exportJobs.events',
    rest: { method: 'GET', url: '/api/v2/notepad/exportJobs/{exportJobRid}/events' },
    trpc: { path: 'notepad.exportJobs.watch', type: 'subscription' },
    scope: SCOPES.export,
    errors: ['ExportJobNotFound'],
    writes: false,
  },
  {
    name: 'files.content',
    rest: { method: 'GET', url: '/api/v2/notepad/files/{fileRid}/content' },
    trpc: { path: 'notepad.files.get', type: 'query' },
    scope: SCOPES.export,
    errors: ['FileNotFound', 'ContentFilePermissionDenied'],
    writes: false,
  },
  {
    name: 'templates.generate',
    rest: { method: 'POST', url: '/api/v2/notepad/templates/{templateRid}/generate' },
    trpc: { path: 'notepad.templates.generate', type: 'mutation' },
    scope: SCOPES.write,
    errors: [
      'StorageFull',
      'IdempotencyKeyReused',
      'TemplateNotFound',
      'GenerateTemplatePermissionDenied',
      'InvalidGenerationJobTemplateVersion',
      'MissingGenerationJobTemplateParameters',
      // A dateTime parameter's zone too: a value of that parameter (InvalidTimezone names the export target's userTimezone).
      'InvalidGenerationJobTemplateParameter',
      'TooManyActiveGenerationJobs',
      'StorageQuotaExceeded',
    ],
    writes: true,
  },
  {
    name: 'generationJobs.get',
    rest: { method: 'GET', url: '/api/v2/notepad/templates/{templateRid}/generationJobs/{generationJobRid}' },
    trpc: { path: 'notepad.generationJobs.get', type: 'query' },
    scope: SCOPES.write,
    errors: ['GenerationJobNotFound'],
    writes: false,
  },
  {
    name: 'generationJobs.saveDocument',
    rest: { method: 'POST', url: '/api/v2/notepad/templates/{templateRid}/generationJobs/{generationJobRid}/saveDocument' },
    trpc: { path: 'notepad.generationJobs.saveDocument', type: 'mutation' },
    scope: SCOPES.write,
    errors: [
      'GenerationJobNotFound',
      'SaveDocumentGenerationJobPermissionDenied',
      ...GENERATION_JOB_STATUS,
      'InvalidFolder',
      'FolderNotFound',
      // The contract: saving "needs a create grant on the parent folder".
      'CreateDocumentPermissionDenied',
      'InvalidDisplayName',
      'ResourceNameAlreadyExists',
    ],
    writes: true,
  },
];

/**
 * Where this oracle and the server's table of operations (server/operations.ts, REST_ROUTES in
 * server/rest.ts) disagree: a route, scope or error list (order included) of one that the
 * other does not have. Empty when they agree.
 */
export function oracleDisagreements(oracle: readonly Operation[] = OPERATIONS, routes: readonly RestRoute[] = REST_ROUTES): string[] {
  const problems: string[] = [];
  const restUrl = (url: string) => `/api${url.replace(/:([A-Za-z]+)/g, '{$1}')}`;
  for (const op of oracle) {
    const route = routes.find((r) => r.name === op.name);
    if (!route) {
      problems.push(`${op.name}: no REST route of that name in server/rest.ts`);
      continue;
    }
    if (route.method !== op.rest.method || restUrl(route.url) !== op.rest.url) {
      problems.push(`${op.name}: the oracle says ${op.rest.method} ${op.rest.url}, the server ${route.method} ${restUrl(route.url)}`);
    }
    if (route.operation.scope !== op.scope) problems.push(`${op.name}: the oracle's scope ${op.scope}, the server's ${route.operation.scope}`);
    if (route.operation.errors.join() !== op.errors.join()) {
      problems.push(`${op.name}: errors in check order\n  oracle: ${op.errors.join(', ')}\n  server: ${route.operation.errors.join(', ')}`);
    }
  }
  for (const route of routes) {
    if (!oracle.some((op) => op.name === route.name)) problems.push(`${route.name}: a REST route the oracle does not know`);
  }
  return problems;
}

export interface AdminProcedure {
  path: string;
  errors: readonly ErrorName[];
  /** A 200 may change rows (revocations update or delete, the rest insert). */
  writes: true;
}

/** The operator API (ours, not Foundry's): scope notepad:admin, all mutations. */
export const ADMIN_PROCEDURES: readonly AdminProcedure[] = [
  { path: 'admin.users.create', errors: [], writes: true },
  { path: 'admin.tokens.create', errors: ['UserNotFound'], writes: true },
  { path: 'admin.tokens.revoke', errors: [], writes: true },
  { path: 'admin.documents.create', errors: ['UserNotFound', 'InvalidContent', 'InvalidDisplayName', 'InvalidFolder', 'FolderNotFound', 'ResourceNameAlreadyExists'], writes: true },
  { path: 'admin.folders.create', errors: ['UserNotFound', 'InvalidDisplayName'], writes: true },
  { path: 'admin.templates.create', errors: ['UserNotFound', 'InvalidContent', 'InvalidDisplayName'], writes: true },
  { path: 'admin.templates.publish', errors: ['TemplateNotFound', 'InvalidContent'], writes: true },
  { path: 'admin.grants.create', errors: ['UserNotFound', 'ResourceNotFound'], writes: true },
  { path: 'admin.grants.revoke', errors: [], writes: true },
];

export const httpStatusOfName = (name: ErrorName): number => ERROR_CODES[ERRORS[name].errorCode].http;

/** Statuses a set of error names can produce, plus 200. */
export function statusesOf(names: readonly ErrorName[]): Set<number> {
  return new Set([200, ...names.map(httpStatusOfName)]);
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Problems with a Foundry error body, as messages (empty when it is well formed). Checks the
 * shape, that the name is in the catalog and the code is the catalog's, and the status.
 */
export function foundryErrorProblems(body: unknown, status: number | undefined): string[] {
  const problems: string[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [`error body is not an object: ${JSON.stringify(body)?.slice(0, 200)}`];
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b).filter((k) => k !== 'httpStatus').sort();
  const expected = ['errorCode', 'errorDescription', 'errorInstanceId', 'errorName', 'parameters'];
  if (keys.join() !== expected.join()) problems.push(`error body keys ${keys.join()} != ${expected.join()}`);
  if (typeof b.errorName !== 'string' || !Object.hasOwn(ERRORS, b.errorName)) {
    problems.push(`errorName ${JSON.stringify(b.errorName)} is not in the catalog`);
    return problems;
  }
  const entry = ERRORS[b.errorName as ErrorName];
  if (b.errorCode !== entry.errorCode) problems.push(`errorCode ${String(b.errorCode)} != catalog ${entry.errorCode} for ${b.errorName}`);
  if (b.errorDescription !== entry.description) problems.push(`errorDescription of ${b.errorName} differs from the catalog`);
  if (typeof b.errorInstanceId !== 'string' || !UUID_V4.test(b.errorInstanceId)) problems.push(`errorInstanceId ${String(b.errorInstanceId)} is not a v4 uuid`);
  if (typeof b.parameters !== 'object' || b.parameters === null || Array.isArray(b.parameters)) problems.push('parameters is not an object');
  const http = ERROR_CODES[entry.errorCode].http;
  if (status !== undefined && status !== http) problems.push(`HTTP ${status} but ${b.errorName} is ${http}`);
  if ('httpStatus' in b && b.httpStatus !== http) problems.push(`data.httpStatus ${String(b.httpStatus)} but ${b.errorName} is ${http}`);
  return problems;
}
