/**
 * The OpenAPI 3.1 document of the REST surface, built from the facts that already exist once:
 * the routes (rest.ts), each operation's scope, schemas and errors in check order
 * (operations.ts), the transport errors every route shares, and the error catalog
 * (contract/errors.ts). Served at GET /api/openapi.json, rendered at /docs, and committed as
 * docs/openapi.json (`npm run openapi` writes it; a test keeps it identical).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SCOPES } from '../contract/api.js';
import { answersWithRetryAfter, ERROR_CODES, ERRORS, type ErrorCode, type ErrorName } from '../contract/errors.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../idempotency.js';
import { MAX_WAIT_SECONDS, PREFER_HEADER, PREFERENCE_APPLIED_HEADER } from '../services/export-job-wait.js';
import { POST_BODY_ERRORS, REST_ONLY_ERRORS, SERVER_FAULTS, TRANSPORT_ERRORS } from '../operations.js';
import { LAST_EVENT_ID_HEADER } from '../http/export-job-events.js';
import { pathParametersOf, REST_ROUTES, type RestRoute, type RestRouteName } from '../rest.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Where the server serves the document (no credentials needed). */
export const OPENAPI_URL = '/api/openapi.json';
/** Every REST route is under this prefix; the document's paths are relative to it. */
const BASE_PATH = '/api';

const SECURITY_SCHEME = 'bearerAuth';

/** What each route is for, and Foundry's names of its bodies (components, the generated client's type names). */
const DESCRIPTIONS: Record<RestRouteName, { summary: string; description?: string; request?: string; response?: string }> = {
  'exportJobs.create': {
    summary: 'Create an export job',
    description:
      'Starts exporting a document, or the content of a finished generation job, to a PDF. The job is created `running`; poll it with exportJobs.get. ' +
      'The short field names `source` and `target` are accepted when the long ones are absent.',
    request: 'CreateExportJobRequest',
    response: 'ExportJob',
  },
  'exportJobs.get': {
    summary: 'Get an export job',
    description: 'The job and its status: `running`, `succeeded` with the fileRid of the PDF, or `failed` with an errorMessage and errorCode.',
    response: 'ExportJob',
  },
  'exportJobs.list': {
    summary: "List the caller's export jobs",
    description:
      "An extension of this service: the caller's own unexpired export jobs, newest first, `pageSize` at a time (default 100, at most 1000), " +
      'optionally of one `status`. Pass `nextPageToken` as `pageToken` for the next page; it is absent on the last. ' +
      'Jobs created while paging do not shift or repeat pages. A bad `pageSize`, `pageToken` or `status` is `Default:InvalidArgument`.',
    response: 'ListExportJobsResponse',
  },
  'exportJobs.cancel': {
    summary: 'Cancel an export job',
    description:
      'An extension of this service. A running job ends `failed` with errorCode `CANCELLED`; its render stops and no file is kept. ' +
      'A job that has already finished is answered unchanged. No body is needed (one sent is ignored).',
    response: 'ExportJob',
  },
  'exportJobs.events': {
    summary: "Follow an export job's changes",
    description:
      'An extension of this service: `text/event-stream` (Server-Sent Events). One event per change, each `data:` an ExportJob as exportJobs.get answers it: ' +
      '`progress` while the job runs, then `succeeded` or `failed`, after which the stream closes. Each event has an `id:` (the job\'s version, increasing); ' +
      'a reconnect with `Last-Event-ID` is told only what is newer, so the terminal event is never lost. A comment line (`: heartbeat`) every 15 s keeps idle streams open.',
  },
  'files.content': {
    summary: "Download an export's PDF",
    description: 'The bytes of the file a succeeded export job names, with an ASCII `filename` and the exact name in `filename*`.',
  },
  'templates.generate': {
    summary: 'Generate content from a template',
    description: 'Applies parameters, by name, to a published template version (the latest if none is given). Returns the new generation job\'s rid as a bare JSON string.',
    request: 'GenerateTemplateRequest',
    response: 'GenerationJobRid',
  },
  'generationJobs.get': { summary: 'Get a generation job', response: 'GenerationJob' },
  'generationJobs.saveDocument': {
    summary: "Save a generation job's content as a document",
    description: 'Needs a `create` grant on the folder. The fields may also come wrapped as `{"request": {...}}`, as the official bindings send them.',
    request: 'SaveDocumentGenerationJobRequest',
    response: 'SaveDocumentResponse',
  },
};

/** A zod schema's JSON Schema (draft 2020-12, which OpenAPI 3.1 uses), as a request or a response sees it. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return json;
}

/** The request body: the operation's input without the fields its path parameters and headers fill in. */
function bodySchemaOf(route: RestRoute): JsonObject {
  const input = jsonSchemaOf(route.operation.input, 'input');
  const fromPath = new Set([...pathParametersOf(route.url), ...Object.keys(route.headers ?? {})]);
  const properties = Object.fromEntries(Object.entries((input.properties ?? {}) as JsonObject).filter(([name]) => !fromPath.has(name)));
  const required = ((input.required ?? []) as string[]).filter((name) => !fromPath.has(name));
  return { ...input, properties, ...(required.length ? { required } : {}) };
}

/** `/v2/notepad/exportJobs/:exportJobRid` -> `/v2/notepad/exportJobs/{exportJobRid}` */
export const openApiPathOf = (url: string): string => url.replace(/:([A-Za-z]+)/g, '{$1}');

const ref = (kind: 'schemas' | 'parameters' | 'headers', name: string): JsonObject => ({ $ref: `#/components/${kind}/${name}` });

/** Every error the route may answer: the transport's, REST's, the body's, then the operation's in check order. */
export function errorsOf(route: RestRoute): ErrorName[] {
  const names = [...TRANSPORT_ERRORS, ...REST_ONLY_ERRORS, ...(route.body ? POST_BODY_ERRORS : []), ...route.operation.errors, ...SERVER_FAULTS];
  return [...new Set(names)];
}

const statusOf = (name: ErrorName): number => ERROR_CODES[ERRORS[name].errorCode].http;

/** The operation's own checks, as its description says them. */
const checkOrderOf = (route: RestRoute): string => {
  const before = `After the credentials, the rate limit, the scope${route.body ? ', `preview` and the body' : ' and `preview`'}`;
  if (route.operation.errors.length === 0) return `${before}, the operation has no checks of its own beyond its input's (\`Default:InvalidArgument\`).`;
  return `${before}, the operation checks, in this order, and answers the first that fails: ${route.operation.errors.map((name) => `\`${name}\` (${statusOf(name)})`).join(', ')}.`;
};

/** The route's error responses, one per status, each naming the errorName values it can carry. */
function errorResponsesOf(route: RestRoute): JsonObject {
  const byStatus = new Map<number, ErrorName[]>();
  for (const name of errorsOf(route)) byStatus.set(statusOf(name), [...(byStatus.get(statusOf(name)) ?? []), name]);
  const responses: JsonObject = {};
  for (const [status, names] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...new Set(names.map((name) => ERRORS[name].errorCode))];
    responses[String(status)] = {
      description: names.map((name) => `\`${name}\``).join(', '),
      ...(codes.some(answersWithRetryAfter) ? { headers: { 'Retry-After': ref('headers', 'RetryAfter') } } : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [ref('schemas', 'FoundryError'), { properties: { errorCode: { enum: codes }, errorName: { enum: names } } }],
          },
        },
      },
    };
  }
  return responses;
}

function successResponseOf(route: RestRoute, names: (typeof DESCRIPTIONS)[RestRouteName]): JsonObject {
  if (route.response === 'events') {
    return {
      description: 'The job\'s events, until it has ended. Each `data:` is an ExportJob (JSON).',
      content: { 'text/event-stream': { schema: { type: 'string', examples: ['id: 3\nevent: progress\ndata: {"rid":"ri.notepad.main.export-job.…","status":{"type":"running"},"progress":{"stage":"rendering","pagesRendered":12}}\n\n'] } } },
    };
  }
  if (route.response === 'file') {
    return {
      description: 'The PDF.',
      headers: {
        'Content-Disposition': {
          description: 'attachment, with an ASCII `filename` and the exact name (UTF-8) in `filename*`.',
          schema: { type: 'string' },
        },
        'Content-Length': { description: 'The size of the PDF in bytes.', schema: { type: 'integer' } },
      },
      content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
    };
  }
  const replayable = route.headers !== undefined && Object.values(route.headers).some((header) => header.name === IDEMPOTENCY_KEY_HEADER);
  const headers: JsonObject = {
    ...(replayable
      ? { [IDEMPOTENT_REPLAYED_HEADER]: { description: "`true` when the answer is an earlier request's, found by its Idempotency-Key.", schema: { type: 'string', enum: ['true'] } } }
      : {}),
    ...(route.waits
      ? {
          [PREFERENCE_APPLIED_HEADER]: {
            description: `\`wait=N\` when a \`${PREFER_HEADER}: wait=N\` was honoured, with N as applied (capped at ${MAX_WAIT_SECONDS}).`,
            schema: { type: 'string', pattern: '^wait=[1-9][0-9]*$' },
          },
        }
      : {}),
  };
  return {
    description: 'OK',
    ...(Object.keys(headers).length ? { headers } : {}),
    content: { 'application/json': { schema: names.response ? ref('schemas', names.response) : jsonSchemaOf(route.operation.output, 'output') } },
  };
}

function operationOf(route: RestRoute, components: Record<string, JsonObject>): JsonObject {
  const names = DESCRIPTIONS[route.name];
  const input = jsonSchemaOf(route.operation.input, 'input');
  const inputProperties = (input.properties ?? {}) as JsonObject;
  if (names.request) components[names.request] = bodySchemaOf(route);
  if (names.response) components[names.response] = jsonSchemaOf(route.operation.output, 'output');
  return {
    operationId: route.name,
    tags: [route.name.slice(0, route.name.indexOf('.'))],
    summary: names.summary,
    description: [names.description, checkOrderOf(route)].filter(Boolean).join('\n\n'),
    security: [{ [SECURITY_SCHEME]: [route.operation.scope] }],
    parameters: [
      ...pathParametersOf(route.url).map((name) => ({ name, in: 'path', required: true, schema: inputProperties[name] ?? { type: 'string' } })),
      ...(route.query
        ? Object.entries(inputProperties)
            .filter(([name]) => !pathParametersOf(route.url).includes(name))
            .map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
        : []),
      ...Object.entries(route.headers ?? {}).map(([field, header]) => ({
        name: header.name,
        in: 'header',
        required: false,
        description: headerDescriptionOf(header.name),
        schema: inputProperties[field] ?? { type: 'string' },
      })),
      ...(route.waits
        ? [
            {
              name: PREFER_HEADER,
              in: 'header',
              required: false,
              description:
                `An extension of this service (RFC 7240): \`wait=N\`, N whole seconds (at most ${MAX_WAIT_SECONDS}; more is cut to ${MAX_WAIT_SECONDS}), ` +
                'answers as soon as the job has succeeded or failed, or after N seconds with its state then, and sends `Preference-Applied: wait=N`. ' +
                'A malformed or zero wait and other preferences are ignored (no wait). The checks (credentials, scope, `preview`, `ExportJobNotFound`) are answered at once, never after a wait.',
              schema: { type: 'string', examples: ['wait=30'] },
            },
          ]
        : []),
      ref('parameters', 'Preview'),
    ],
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: names.request ? ref('schemas', names.request) : bodySchemaOf(route) } } } }
      : {}),
    responses: { '200': successResponseOf(route, names), ...errorResponsesOf(route) },
  };
}

/** What a header parameter does (this service's extensions; docs/api.md, "Extensions"). */
function headerDescriptionOf(name: string): string {
  if (name === IDEMPOTENCY_KEY_HEADER) {
    return (
      'An extension of this service: 1-255 printable ASCII characters, scoped to the caller and kept 24 hours (NOTEPAD_IDEMPOTENCY_TTL_MS). ' +
      `The same key with the same request answers the first request's job, with \`${IDEMPOTENT_REPLAYED_HEADER}: true\`; with another request, \`IdempotencyKeyReused\` (409). ` +
      'A request that fails stores nothing.'
    );
  }
  if (name === LAST_EVENT_ID_HEADER) {
    return "The `id:` of the last event a client saw (a reconnect): only newer events are sent; after the job's terminal event, none. Digits only, else `Default:InvalidArgument`.";
  }
  return name;
}

const version = (): string => z.object({ version: z.string() }).parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))).version;

/** The whole document. Deterministic: the same code gives the same bytes (docs/openapi.json). */
export function buildOpenApiDocument(): JsonObject {
  const schemas: Record<string, JsonObject> = {};
  const paths: Record<string, JsonObject> = {};
  for (const route of REST_ROUTES) {
    const path = openApiPathOf(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(route, schemas) };
  }
  paths[OPENAPI_URL.slice(BASE_PATH.length)] = {
    get: {
      operationId: 'openapi',
      tags: ['meta'],
      summary: 'This document',
      security: [],
      responses: { '200': { description: 'The OpenAPI document of this API.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  const errorCodes: ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'notepad-export',
      version: version(),
      description:
        "Palantir Foundry's Notepad export API (v2) on your own storage: export a document, or a template's output, to a PDF as an asynchronous job. " +
        'Every operation is in preview and needs `?preview=true`. Errors are JSON (FoundryError) and their HTTP status follows their errorCode alone. ' +
        'docs/api.md in the repository is the wire contract in prose.',
    },
    servers: [{ url: BASE_PATH }],
    tags: [
      { name: 'exportJobs', description: 'Export documents and generated content to PDF.' },
      { name: 'files', description: 'The exported PDFs.' },
      { name: 'templates', description: 'Generate content from templates.' },
      { name: 'generationJobs', description: 'The generated content: export it, or save it as a document.' },
      { name: 'meta', description: 'About this API.' },
    ],
    paths,
    components: {
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description: `A token made with \`npm run notepad -- tokens create\`. Its scopes decide what it may call: ${Object.values(SCOPES)
            .filter((scope) => scope !== SCOPES.admin)
            .map((scope) => `\`${scope}\``)
            .join(', ')}; each operation names the one it needs.`,
        },
      },
      parameters: {
        Preview: {
          name: 'preview',
          in: 'query',
          required: true,
          description: 'Every operation is in preview: without `preview=true` the answer is 400 ApiFeaturePreviewUsageOnly.',
          schema: { type: 'boolean', enum: [true] },
        },
      },
      headers: {
        RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } },
      },
      schemas: {
        FoundryError: {
          type: 'object',
          description: 'Every error. The HTTP status follows errorCode alone; errorInstanceId also appears in the server log line of the request.',
          required: ['errorCode', 'errorName', 'errorDescription', 'errorInstanceId', 'parameters'],
          properties: {
            errorCode: { type: 'string', enum: errorCodes },
            errorName: { type: 'string', enum: Object.keys(ERRORS) },
            errorDescription: { type: 'string' },
            errorInstanceId: { type: 'string', format: 'uuid' },
            parameters: { type: 'object', additionalProperties: true },
          },
        },
        ...Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      },
    },
  };
}
