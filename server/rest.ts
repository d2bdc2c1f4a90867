import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { EventId, type ExportJob, type Scope } from './contract/api.js';
import { LAST_EVENT_ID_HEADER, sendExportJobEvents } from './http/export-job-events.js';
import { invalidArgument, NotepadError } from './contract/errors.js';
import { requireWellFormedText } from './contract/well-formed.js';
import { MAX_JSON_DEPTH } from './contract/limits.js';
import { FileRid } from './contract/rids.js';
import type { Deps } from './deps.js';
import { sendError } from './errors.js';
import { credentialsOf } from './http/gate.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, type RunOutcome } from './idempotency.js';
import { IdempotencyKey } from './contract/idempotency-key.js';
import { operations, type Operation } from './operations.js';
import { principalOf, type Principal } from './services/auth.js';
import { getFile } from './services/files.js';
import { PREFER_HEADER, PREFERENCE_APPLIED_HEADER, waitForExportJobEnd, waitPreferenceOf } from './services/export-job-wait.js';
import type { FileStore } from './files/store.js';
import { contentDisposition } from './files/content-disposition.js';

type Params = Record<string, string>;

/** Also accepts the short names (`source`, `target`) when the Foundry names are absent. */
function renameKeys(aliases: Record<string, string>) {
  return (body: Record<string, unknown>): Record<string, unknown> => {
    const result = { ...body };
    for (const [alias, name] of Object.entries(aliases)) {
      if (!(name in result) && alias in result) {
        result[name] = result[alias];
        delete result[alias];
      }
    }
    return result;
  };
}

/**
 * The official bindings wrap saveDocument's fields in `request` ({request: {documentName,
 * parentFolderRid}}); the contract sends them flat. Both arrive at the same input.
 */
function unwrapRequest(body: Record<string, unknown>): Record<string, unknown> {
  const { request, ...rest } = body;
  if (typeof request === 'object' && request !== null && !Array.isArray(request)) return { ...rest, ...(request as Record<string, unknown>) };
  return body;
}

type AnyOperation = Operation<z.ZodType, z.ZodType>;

/** Foundry's names of the REST operations, as the contract and the OpenAPI operationIds spell them. */
export type RestRouteName =
  | 'exportJobs.create'
  | 'exportJobs.get'
  | 'exportJobs.list'
  | 'exportJobs.cancel'
  | 'exportJobs.events'
  | 'files.content'
  | 'templates.generate'
  | 'generationJobs.get'
  | 'generationJobs.saveDocument';

export interface RestRoute {
  name: RestRouteName;
  method: 'GET' | 'POST';
  /** Under /api; `:name` marks a path parameter. */
  url: string;
  /** The same entry the tRPC procedure is built from: scope, schemas, errors and service call. */
  operation: AnyOperation;
  /** Whether the route takes a JSON object body (MissingPostBody without one); the path parameters are merged over it. */
  body: boolean;
  /** Takes input fields from the query string too (the body's and the path's win). */
  query?: boolean;
  /** Maps accepted variants of the body onto the operation's input shape. */
  normalize?: (body: Record<string, unknown>) => Record<string, unknown>;
  /**
   * What a 200 carries: the operation's output as JSON, (files.content) the file's bytes, or
   * (exportJobs.events) the job's changes as Server-Sent Events, once the operation's checks pass.
   */
  response: 'json' | 'file' | 'events';
  /**
   * Input fields REST takes from a header, never from the body (a body member of that name
   * is dropped like any unknown one): input field -> the header and its schema.
   */
  headers?: Readonly<Record<string, { name: string; schema: z.ZodType }>>;
  /**
   * exportJobs.get only: honours `Prefer: wait=N` (services/export-job-wait.ts) after the
   * operation's checks, then answers the job as it is when the wait ends.
   */
  waits?: true;
}

/** The creates take an Idempotency-Key (server/idempotency.ts). */
const IDEMPOTENCY_HEADERS = { idempotencyKey: { name: IDEMPOTENCY_KEY_HEADER, schema: IdempotencyKey } } as const;

/**
 * Foundry's REST surface. Each route does the transport checks in the contract's order
 * (auth, scope, preview, body) and then runs the operation the tRPC procedure runs, with
 * its input and output schemas, so validation, authorization and the service code exist once.
 */
export const REST_ROUTES: readonly RestRoute[] = [
  {
    name: 'exportJobs.create',
    method: 'POST',
    url: '/v2/notepad/exportJobs/create',
    operation: operations.createExportJob,
    body: true,
    normalize: renameKeys({ source: 'exportJobSource', target: 'exportJobTarget' }),
    response: 'json',
    headers: IDEMPOTENCY_HEADERS,
  },
  // An extension (docs/api.md, "Extensions"): pageSize, pageToken and status in the query.
  { name: 'exportJobs.list', method: 'GET', url: '/v2/notepad/exportJobs', operation: operations.listExportJobs, body: false, query: true, response: 'json' },
  // An extension: `Prefer: wait=N` answers once the job is finished or after N seconds.
  { name: 'exportJobs.get', method: 'GET', url: '/v2/notepad/exportJobs/:exportJobRid', operation: operations.getExportJob, body: false, response: 'json', waits: true },
  // An extension: a POST without a body (any body sent is ignored).
  { name: 'exportJobs.cancel', method: 'POST', url: '/v2/notepad/exportJobs/:exportJobRid/cancel', operation: operations.cancelExportJob, body: false, response: 'json' },
  // An extension: the job's changes as Server-Sent Events (http/export-job-events.ts); Last-Event-ID resumes.
  {
    name: 'exportJobs.events',
    method: 'GET',
    url: '/v2/notepad/exportJobs/:exportJobRid/events',
    operation: operations.watchExportJob,
    body: false,
    response: 'events',
    headers: { lastEventId: { name: LAST_EVENT_ID_HEADER, schema: EventId } },
  },
  // The bytes of the file whose metadata tRPC's files.get answers: the same checks.
  { name: 'files.content', method: 'GET', url: '/v2/notepad/files/:fileRid/content', operation: operations.getFile, body: false, response: 'file' },
  {
    name: 'templates.generate',
    method: 'POST',
    url: '/v2/notepad/templates/:templateRid/generate',
    operation: operations.generateFromTemplate,
    body: true,
    response: 'json',
    headers: IDEMPOTENCY_HEADERS,
  },
  {
    name: 'generationJobs.get',
    method: 'GET',
    url: '/v2/notepad/templates/:templateRid/generationJobs/:generationJobRid',
    operation: operations.getGenerationJob,
    body: false,
    response: 'json',
  },
  {
    name: 'generationJobs.saveDocument',
    method: 'POST',
    url: '/v2/notepad/templates/:templateRid/generationJobs/:generationJobRid/saveDocument',
    operation: operations.saveGeneratedDocument,
    body: true,
    normalize: unwrapRequest,
    response: 'json',
  },
];

/** The names of a route's path parameters, in order. */
export const pathParametersOf = (url: string): string[] => [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);

/** What the tRPC procedure does between its scope check and its answer, as a plain call. */
async function runOperation(
  deps: Deps,
  principal: Principal,
  operation: AnyOperation,
  raw: Record<string, unknown>,
  outcome: RunOutcome,
): Promise<unknown> {
  const input = await operation.input.safeParseAsync(raw);
  if (!input.success) throw invalidArgument(input.error.issues, input.error);
  let result: unknown;
  try {
    result = await operation.run(deps, principal, input.data, outcome);
  } catch (error) {
    // As in a tRPC resolver: anything but a catalog error is a server fault, even an error
    // that looks like a validation failure of the caller's input.
    if (error instanceof NotepadError) throw error;
    throw new NotepadError('Default:Internal', {}, { cause: error });
  }
  const output = await operation.output.safeParseAsync(result);
  // A response that breaks its own schema is our fault, never the caller's.
  if (!output.success) throw new NotepadError('Default:Internal', {}, { cause: output.error });
  return output.data;
}

function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

function parseJsonBody(raw: unknown): Record<string, unknown> {
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : undefined;
  if (text === undefined || text.trim() === '') throw new NotepadError('MissingPostBody');
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new NotepadError('Default:InvalidArgument', { parameter: '(body)', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NotepadError('Default:InvalidArgument', { parameter: '(body)', message: `malformed JSON: ${(error as Error).message}` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NotepadError('Default:InvalidArgument', { parameter: '(body)', message: 'the body must be a JSON object' });
  }
  requireWellFormedText(value);
  return value as Record<string, unknown>;
}

function requirePreview(request: FastifyRequest): void {
  const { preview } = request.query as Record<string, unknown>;
  // Repeated, it is neither absent nor false: a malformed query, as any repeated parameter is.
  if (Array.isArray(preview)) throw invalidArgument([{ path: ['preview'], message: 'must be given once' }]);
  if (preview !== 'true') throw new NotepadError('ApiFeaturePreviewUsageOnly');
}

/**
 * The caller, checked for the scope, in the contract's order (401, then 403): the gate
 * (http/gate.ts) has authenticated it already, before the body was read.
 */
const callerOf = (deps: Deps, request: FastifyRequest, scope: Scope): Promise<Principal> => principalOf(deps, credentialsOf(request), scope);

/** The caller of each REST request that passed its scope and preview checks (the route's onRequest hook). */
const callers = new WeakMap<FastifyRequest, Principal>();

export interface RestOptions {
  deps: Deps;
  files: FileStore;
}

export async function restPlugin(app: FastifyInstance, { deps, files }: RestOptions): Promise<void> {
  // Bodies arrive as raw strings whatever their media type: the checks before JSON parsing
  // (auth, scope, preview, empty body) must come first, and curl's default form type must work.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));

  for (const route of REST_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      // The scope (403) and preview (400) come before the body is read, as the contract orders
      // them: before a body over the limit (413), a stalled one (408) or a malformed one (400).
      // Route hooks run after the app's, so the gate (401, 429) has run.
      onRequest: async (request) => {
        const principal = await callerOf(deps, request, route.operation.scope);
        requirePreview(request);
        callers.set(request, principal);
        // Bodies are JSON whatever the Content-Type says, so it is not read at all: Fastify
        // refuses a header it cannot parse ("garbage", "json") with a 415 before any parser
        // runs, which would come before the empty-body and size checks the contract orders.
        delete request.headers['content-type'];
      },
      handler: async (request, reply) => {
        const principal = callers.get(request);
        if (!principal) throw new Error('unreachable: a REST route ran without its onRequest checks');
        if (route.response === 'file') return sendFile(deps, files, principal, request, reply);
        const parsed = route.body ? parseJsonBody(request.body) : {};
        const body = route.normalize ? route.normalize(parsed) : parsed;
        const fromHeaders = route.headers ? headerFields(request, route.headers, body) : {};
        const outcome: RunOutcome = {};
        const query = route.query ? queryFields(request) : {};
        const input = { ...query, ...body, ...(request.params as Params), ...fromHeaders };
        let result = await runOperation(deps, principal, route.operation, input, outcome);
        if (route.response === 'events') {
          const after = typeof fromHeaders.lastEventId === 'number' ? fromHeaders.lastEventId : -1;
          return sendExportJobEvents(deps, (result as ExportJob).rid, after, reply);
        }
        const wait = route.waits ? waitPreferenceOf(request.headers[PREFER_HEADER.toLowerCase()]) : undefined;
        if (wait !== undefined) {
          if (await waitedForEnd(deps, principal, result as ExportJob, wait, reply)) result = await runOperation(deps, principal, route.operation, input, outcome);
          reply.header(PREFERENCE_APPLIED_HEADER, `wait=${wait}`);
        }
        if (outcome.replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
        // Serialised here: Fastify would send a bare string result (a GenerationJobRid) as text.
        return reply.header('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(result));
      },
    });
  }
}

/** Waits for the job's end (or the wait's, or the client's going away); whether it waited at all. */
async function waitedForEnd(deps: Deps, principal: Principal, job: ExportJob, seconds: number, reply: FastifyReply): Promise<boolean> {
  if (job.status.type !== 'running') return false;
  // The response's 'close' before it is sent: the client went away (the request's fires once its body is read).
  const gone = new AbortController();
  const onClose = () => gone.abort();
  reply.raw.once('close', onClose);
  try {
    await waitForExportJobEnd(deps, principal, job, seconds, gone.signal);
  } finally {
    reply.raw.off('close', onClose);
  }
  return true;
}

/** The query string's fields but `preview` (a transport check); a repeated one stays an array, which the schema refuses. */
function queryFields(request: FastifyRequest): Record<string, unknown> {
  const { preview: _, ...fields } = request.query as Record<string, unknown>;
  return fields;
}

/**
 * The input fields a route takes from headers, each checked here so a bad value names its
 * header; the body's members of those names are removed (they come from headers only).
 */
function headerFields(request: FastifyRequest, headers: NonNullable<RestRoute['headers']>, body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [field, { name, schema }] of Object.entries(headers)) {
    delete body[field];
    const value = request.headers[name.toLowerCase()];
    if (value === undefined) continue;
    // Node joins a repeated header's values with ", ", which could pass for one value
    // ("a, b" is a well-formed Idempotency-Key): each of these headers is one value, given once.
    if (timesGiven(request, name) > 1) throw invalidArgument([{ path: [name], message: 'must be given once' }]);
    const checked = schema.safeParse(value);
    if (!checked.success) throw invalidParameter(name, checked.error);
    fields[field] = checked.data;
  }
  return fields;
}

/** Default:InvalidArgument for a header or path parameter its schema refused: each issue's path starts with the parameter's name. */
function invalidParameter(name: string, error: z.ZodError): NotepadError {
  return invalidArgument(error.issues.map((issue) => ({ ...issue, path: [name, ...issue.path] })), error);
}

/** How many times the request carries the header `name` (rawHeaders: names and values, alternating). */
function timesGiven(request: FastifyRequest, name: string): number {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name.toLowerCase()) count++;
  return count;
}

/** files.content: the operation's checks (getFile), then the stored bytes with their headers. */
async function sendFile(deps: Deps, files: FileStore, principal: Principal, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { fileRid } = request.params as Params;
  const parsed = FileRid.safeParse(fileRid);
  if (!parsed.success) throw invalidParameter('fileRid', parsed.error);
  const file = await getFile(deps, principal, parsed.data);
  const stream = await files.open(file.storageKey);
  return reply
    .header('Content-Type', file.mediaType)
    .header('Content-Length', String(file.sizeBytes))
    .header('Content-Disposition', contentDisposition(file.filename))
    .header('X-Content-Type-Options', 'nosniff')
    .send(stream);
}
