import { readFileSync } from 'node:fs';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { RouteOptions } from 'fastify';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiArtifacts, pathOf } from '../scripts/openapi.js';
import { buildApp } from '../server/app.js';
import { ERROR_CODES, ERRORS, type ErrorName } from '../server/contract/errors.js';
import { buildOpenApiDocument, errorsOf, openApiPathOf, type JsonObject } from '../server/operating/openapi.js';
import { POST_BODY_ERRORS, REST_ONLY_ERRORS, SERVER_FAULTS, TRANSPORT_ERRORS } from '../server/operations.js';
import { REST_ROUTES } from '../server/rest.js';
import type { paths } from './generated/notepad-openapi.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
import { startLiveServer, type LiveServer } from './live-server.js';
import { readPdf, squash } from './render-pdf-text.js';

const document = buildOpenApiDocument();

/** A value of the document at a path of keys, as an object (fails the test if it is not one). */
function at(value: unknown, ...keys: string[]): JsonObject {
  let current = value;
  for (const key of keys) {
    expect(current, `${keys.join('/')}: ${key}`).toBeTypeOf('object');
    current = (current as JsonObject)[key];
  }
  expect(current, keys.join('/')).toBeTypeOf('object');
  return current as JsonObject;
}

describe('the OpenAPI document', () => {
  it('is committed as docs/openapi.json, with the client types generated from it, as `npm run openapi` writes them', async () => {
    for (const artifact of await openApiArtifacts()) {
      const committed = readFileSync(pathOf(artifact), 'utf8');
      expect(committed, `${artifact.path} is stale: run npm run openapi`).toBe(artifact.text);
    }
  });

  it('is a valid OpenAPI 3.1 document (@readme/openapi-parser), without warnings', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : compileErrors(result)).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('states each route: method, path parameters, preview, scope, request and response bodies', () => {
    for (const route of REST_ROUTES) {
      const operation = at(document, 'paths', openApiPathOf(route.url), route.method.toLowerCase());
      expect(operation.operationId).toBe(route.name);
      expect(operation.security).toEqual([{ bearerAuth: [route.operation.scope] }]);
      const parameters = operation.parameters as JsonObject[];
      const pathNames = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.required])).toEqual(pathNames.map((name) => [name, true]));
      expect(parameters).toContainEqual({ $ref: '#/components/parameters/Preview' });
      expect(operation.requestBody !== undefined).toBe(route.body);
      const ok = at(operation, 'responses', '200', 'content');
      const mediaType = { file: 'application/pdf', events: 'text/event-stream', json: 'application/json' }[route.response];
      expect(Object.keys(ok)).toEqual([mediaType]);
    }
    expect(at(document, 'components', 'parameters', 'Preview')).toMatchObject({ in: 'query', name: 'preview', required: true, schema: { enum: [true] } });
    expect(at(document, 'components', 'securitySchemes', 'bearerAuth')).toMatchObject({ type: 'http', scheme: 'bearer' });
    const content = at(document, 'paths', '/v2/notepad/files/{fileRid}/content', 'get', 'responses', '200');
    expect(Object.keys(at(content, 'headers'))).toEqual(['Content-Disposition', 'Content-Length']);
    expect(at(content, 'content', 'application/pdf', 'schema')).toEqual({ type: 'string', format: 'binary' });
    const events = at(document, 'paths', '/v2/notepad/exportJobs/{exportJobRid}/events', 'get');
    expect((events.parameters as JsonObject[]).filter((p) => p.in === 'header').map((p) => p.name)).toEqual(['Last-Event-ID']);
  });

  it("gives each route's error responses: every status it can answer, with the errorName values of each", () => {
    for (const route of REST_ROUTES) {
      const responses = at(document, 'paths', openApiPathOf(route.url), route.method.toLowerCase(), 'responses');
      const expected = new Map<string, ErrorName[]>();
      const names = [...TRANSPORT_ERRORS, ...REST_ONLY_ERRORS, ...(route.body ? POST_BODY_ERRORS : []), ...route.operation.errors, ...SERVER_FAULTS];
      for (const name of names) {
        const status = String(ERROR_CODES[ERRORS[name].errorCode].http);
        if (!expected.get(status)?.includes(name)) expected.set(status, [...(expected.get(status) ?? []), name]);
      }
      expect(Object.keys(responses).filter((s) => s !== '200').sort()).toEqual([...expected.keys()].sort());
      for (const [status, errorNames] of expected) {
        const schema = at(responses, status, 'content', 'application/json', 'schema');
        expect(schema.allOf, `${route.name} ${status}`).toEqual([
          { $ref: '#/components/schemas/FoundryError' },
          { properties: { errorCode: { enum: [...new Set(errorNames.map((n) => ERRORS[n].errorCode))] }, errorName: { enum: errorNames } } },
        ]);
        // 429 and 503 tell the client when to come back.
        expect(at(responses, status).headers !== undefined, `${route.name} ${status} Retry-After`).toBe(status === '429' || status === '503');
      }
      expect(errorsOf(route)).toEqual([...new Set(names)]);
      // The operation's own checks, in order, in its description.
      const description = String(at(document, 'paths', openApiPathOf(route.url), route.method.toLowerCase()).description);
      const positions = route.operation.errors.map((name) => description.indexOf(`\`${name}\``));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });

  it('describes templateParameters, a record of named values, rather than leaving it open', () => {
    const parameters = at(document, 'components', 'schemas', 'GenerateTemplateRequest', 'properties', 'templateParameters');
    expect(parameters.type).toBe('object');
    const types = (at(parameters, 'additionalProperties').oneOf as JsonObject[]).map((v) => at(v, 'properties', 'type').const);
    expect(types).toEqual(['string', 'double', 'date', 'dateTime', 'objectRid', 'objectSetRid']);
    // The path parameter is not a body field.
    expect(Object.keys(at(document, 'components', 'schemas', 'GenerateTemplateRequest', 'properties'))).toEqual(['templateVersion', 'templateParameters']);
  });
});

describe('the served document and the routes under /api', () => {
  let env: TestEnv;
  const routes: RouteOptions[] = [];
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    env = await createTestEnv();
    app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger, onRoute: (route) => routes.push(route) });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    env.cleanup();
  });

  it('GET /api/openapi.json answers the document without credentials', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json()).toEqual(document);
  });

  it('has every route the server registers under /api, and nothing else', () => {
    const registered = new Set<string>();
    for (const route of routes) {
      if (!route.url.startsWith('/api/')) continue;
      for (const method of [route.method].flat()) {
        // Fastify answers HEAD on every GET route by itself: the GET is what is documented.
        if (method !== 'HEAD') registered.add(`${method} ${openApiPathOf(route.url.slice('/api'.length))}`);
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(at(document, 'paths'))) {
      for (const method of Object.keys(item as JsonObject)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    expect([...registered].sort()).toEqual([...documented].sort());
    expect(registered.size).toBe(REST_ROUTES.length + 1);
  });
});

describe('a client generated from the document (openapi-typescript types, openapi-fetch)', () => {
  let server: LiveServer;
  beforeAll(async () => {
    server = await startLiveServer();
  });
  afterAll(() => server.close());

  it('creates an export job, gets it until it succeeds and downloads the PDF', async () => {
    const { userId, token } = await seedUser(server.env.deps);
    const documentRid = await seedDocument(server.env.deps, userId, { title: 'Generated client' });
    const client = createClient<paths>({ baseUrl: `${server.baseUrl}/api`, headers: { Authorization: `Bearer ${token}` } });

    const created = await client.POST('/v2/notepad/exportJobs/create', {
      params: { query: { preview: true } },
      body: { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } },
    });
    expect(created.response.status).toBe(200);
    const rid = created.data!.rid;

    let fileRid: string | undefined;
    for (let attempt = 0; attempt < 200 && !fileRid; attempt++) {
      const { data, error } = await client.GET('/v2/notepad/exportJobs/{exportJobRid}', { params: { path: { exportJobRid: rid }, query: { preview: true } } });
      expect(error).toBeUndefined();
      if (data!.status.type === 'succeeded') fileRid = data!.status.fileRid;
      else if (data!.status.type === 'failed') throw new Error(`export failed: ${data!.status.errorMessage}`);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fileRid).toMatch(/^ri\.notepad\.main\.file\./);

    const download = await client.GET('/v2/notepad/files/{fileRid}/content', {
      params: { path: { fileRid: fileRid! }, query: { preview: true } },
      parseAs: 'arrayBuffer',
    });
    expect(download.response.status).toBe(200);
    expect(download.response.headers.get('content-type')).toBe('application/pdf');
    expect(download.response.headers.get('content-disposition')).toContain('Generated client.pdf');
    const text = squash((await readPdf(new Uint8Array(download.data!))).pages.join('\n'));
    expect(text).toContain('Quarterly report');
  });

  it('gets the documented error body for a documented error', async () => {
    const { token } = await seedUser(server.env.deps, { name: 'Grace' });
    const client = createClient<paths>({ baseUrl: `${server.baseUrl}/api`, headers: { Authorization: `Bearer ${token}` } });
    const missing = 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000';
    const { error, response } = await client.GET('/v2/notepad/exportJobs/{exportJobRid}', { params: { path: { exportJobRid: missing }, query: { preview: true } } });
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ errorCode: 'NOT_FOUND', errorName: 'ExportJobNotFound', parameters: { exportJobRid: missing } });
  });
});
