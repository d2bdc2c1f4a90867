import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foundryErrorProblems } from './contract-routes.js';
import { seedDocument, seedUser } from './helpers.js';
import { startApiServer, type ApiServer } from './live-server.js';
import { head, openRaw, within, type RawResponse } from './raw-http.js';

/**
 * Credentials are checked when a request's headers are in, before its body is read: a body
 * that never finishes, sent with no token or an unknown one, is refused at once instead of
 * being held and buffered until it completes. Unknown routes stay 404 (the contract), also
 * before the body. And a tRPC batch holds at most maxBatchSize calls.
 */

let server: ApiServer;
let token: string;
let documentRid: string;

beforeAll(async () => {
  server = await startApiServer({ config: { http: { maxBatchSize: 3 } } });
  const user = await seedUser(server.env.deps);
  token = user.token;
  documentRid = await seedDocument(server.env.deps, user.userId);
});
afterAll(() => server?.close());

const UNKNOWN = `np_${'x'.repeat(43)}`;
/** A body the server is told is 1 MiB long, of which only the start is ever sent. */
const DECLARED = 1024 * 1024;
const START = '{"exportJobSource":{"type":"documentSource","documentRid":"' + 'r'.repeat(64 * 1024);

/** The catalog error in a response: the REST body, or tRPC's envelope's data. */
function errorOf(response: RawResponse, envelope: 'rest' | 'trpc'): Record<string, unknown> {
  const json = response.json as Record<string, unknown> & { error?: { code?: unknown; data?: Record<string, unknown> } };
  if (envelope === 'rest') return json;
  expect(json.error?.code, 'a JSON-RPC code in the envelope').toEqual(expect.any(Number));
  return json.error!.data!;
}

/** Sends the head of a POST and the first 64 KiB of its body, and waits (bounded) for the answer. */
async function halfSentPost(target: string, authorization: string | undefined): Promise<RawResponse> {
  const lines = [`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${DECLARED}`];
  if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
  const connection = await openRaw(server.port, head(...lines) + START);
  try {
    // The body is 960 KiB short: an answer can only come before it.
    return await within(connection.response, 5_000, `${target} with a half-sent body`);
  } finally {
    connection.destroy();
  }
}

describe('credentials before the body', () => {
  const rest = '/api/v2/notepad/exportJobs/create?preview=true';
  const trpc = '/trpc/notepad.exportJobs.create';
  it.each([
    ['REST, no Authorization header', rest, undefined, 'rest', 'MissingCredentials'],
    ['REST, an unknown token', rest, `Bearer ${UNKNOWN}`, 'rest', 'InvalidCredentials'],
    ['REST, a non-Bearer scheme', rest, 'Basic dXNlcjpwYXNz', 'rest', 'MissingCredentials'],
    ['tRPC, no Authorization header', trpc, undefined, 'trpc', 'MissingCredentials'],
    ['tRPC, an unknown token', trpc, `Bearer ${UNKNOWN}`, 'trpc', 'InvalidCredentials'],
    ['a tRPC batch, an unknown token', '/trpc/notepad.exportJobs.create,notepad.exportJobs.create?batch=1', `Bearer ${UNKNOWN}`, 'trpc', 'InvalidCredentials'],
  ] as const)('%s: 401 at once, in the contract shape, logged under its errorInstanceId', async (_what, target, authorization, envelope, errorName) => {
    const response = await halfSentPost(target, authorization);
    expect(response.status).toBe(401);
    const error = errorOf(response, envelope);
    expect(error).toMatchObject({ errorName, errorCode: 'UNAUTHORIZED' });
    expect(foundryErrorProblems(error, envelope === 'rest' ? 401 : undefined)).toEqual([]);
    const logged = server.env.logLines().filter((line) => line.errorInstanceId === error.errorInstanceId);
    expect(logged).toMatchObject([{ msg: 'request rejected', errorName, statusCode: 401 }]);
  });

  it.each([
    ['under /api, with a valid token', '/api/v2/notepad/exportJobs/nope?preview=true', true, 'rest'],
    ['under /api, without credentials', '/api/v2/notepad/nope', false, 'rest'],
    ['under /trpc, a path tRPC has no route for', '/trpc/a/b', false, 'trpc'],
    ['anywhere else', '/upload', false, 'rest'],
  ] as const)('an unknown route %s is 404 Default:NotFound at once, whatever the credentials', async (_what, target, withToken, envelope) => {
    const response = await halfSentPost(target, withToken ? `Bearer ${token}` : undefined);
    expect(response.status).toBe(404);
    expect(errorOf(response, envelope)).toMatchObject({ errorName: 'Default:NotFound', errorCode: 'NOT_FOUND' });
  });

  it('a valid token still has its body read, then the usual checks (here a 200)', async () => {
    const body = JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en', userTimezone: 'Etc/UTC' } });
    const connection = await openRaw(
      server.port,
      head('POST /api/v2/notepad/exportJobs/create?preview=true HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${token}`, 'Content-Type: application/json', `Content-Length: ${body.length}`) +
        body.slice(0, 20),
    );
    try {
      // Half the body, a pause: no answer yet, since the route needs the whole body.
      const early = await within(connection.response, 300, 'a valid request with half its body').then(
        () => 'answered',
        () => 'waiting',
      );
      expect(early).toBe('waiting');
      connection.write(body.slice(20));
      const response = await within(connection.response, 5_000, 'the rest of the body');
      expect(response.status, response.body).toBe(200);
      expect(response.json).toMatchObject({ status: { type: 'running' } });
    } finally {
      connection.destroy();
    }
  });

  it('authenticates once per request: the gate looks the token up, the route and the procedures reuse it', async () => {
    const store = server.env.deps.stores.auth;
    const original = store.principalByTokenHash.bind(store);
    let lookups = 0;
    store.principalByTokenHash = (tokenHash) => {
      lookups++;
      return original(tokenHash);
    };
    try {
      const headers = { authorization: `Bearer ${token}` };
      const count = async (url: string, init: RequestInit = {}) => {
        lookups = 0;
        const response = await fetch(`${server.baseUrl}${url}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
        await response.arrayBuffer();
        return { status: response.status, lookups };
      };
      expect(await count(`/api/v2/notepad/exportJobs/ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000?preview=true`)).toEqual({ status: 404, lookups: 1 });
      expect(await count('/trpc/notepad.files.get?input=' + encodeURIComponent(JSON.stringify({ fileRid: 'ri.notepad.main.file.00000000-0000-4000-8000-000000000000' })))).toEqual({ status: 404, lookups: 1 });
      const batch = await count(`/trpc/admin.users.create,admin.users.create?batch=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 0: { name: 'A' }, 1: { name: 'B' } }),
      });
      // Both calls are refused for scope (the token has none for admin), after one lookup.
      expect(batch).toEqual({ status: 403, lookups: 1 });
    } finally {
      store.principalByTokenHash = original;
    }
  });
});

describe('tRPC batches', () => {
  const batchOf = (n: number) => {
    const paths = Array.from({ length: n }, () => 'notepad.exportJobs.get').join(',');
    const input = Object.fromEntries(Array.from({ length: n }, (_v, i) => [String(i), { exportJobRid: 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000' }]));
    return fetch(`${server.baseUrl}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { authorization: `Bearer ${token}` } });
  };

  it('a batch of maxBatchSize calls runs every call', async () => {
    const response = await batchOf(3);
    const items = (await response.json()) as Array<{ error?: { data?: { errorName?: string } } }>;
    expect(items.map((item) => item.error?.data?.errorName)).toEqual(['ExportJobNotFound', 'ExportJobNotFound', 'ExportJobNotFound']);
  });

  it('one call more is a 400 Default:InvalidArgument in the envelope, and no call runs', async () => {
    const before = server.env.logLines().filter((line) => line.errorName === 'ExportJobNotFound').length;
    const response = await batchOf(4);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { data: Record<string, unknown> } };
    expect(body.error.data).toMatchObject({ errorName: 'Default:InvalidArgument', httpStatus: 400, parameters: { message: expect.stringMatching(/batch/i) } });
    expect(foundryErrorProblems(body.error.data, undefined)).toEqual([]);
    expect(server.env.logLines().filter((line) => line.errorName === 'ExportJobNotFound').length).toBe(before);
    expect(server.env.deps.config.http.maxBatchSize).toBe(3);
  });
});

describe('Expect: 100-continue', () => {
  const rest = '/api/v2/notepad/exportJobs/create?preview=true';
  const body = () => JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } });
  const expecting = (target: string, authorization: string | undefined, length: number) => {
    const lines = [`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${length}`, 'Expect: 100-continue'];
    if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
    return head(...lines);
  };

  it.each([
    ['no credentials', rest, undefined, 401, 'MissingCredentials'],
    ['an unknown token', rest, `Bearer ${UNKNOWN}`, 401, 'InvalidCredentials'],
    ['no preview', '/api/v2/notepad/exportJobs/create', 'token', 400, 'ApiFeaturePreviewUsageOnly'],
    ['an unknown route', '/api/v2/notepad/nowhere', 'token', 404, 'Default:NotFound'],
  ] as const)('refuses a request with %s at once, without inviting its body first', async (_case, target, authorization, status, errorName) => {
    const connection = await openRaw(server.port, expecting(target, authorization === 'token' ? `Bearer ${token}` : authorization, DECLARED));
    try {
      // Nothing of the body is sent: the first response must be the refusal, not "100 Continue".
      const response = await within(connection.response, 5_000, `${target} expecting 100-continue`);
      expect(response.status).toBe(status);
      expect(response.json).toMatchObject({ errorName });
    } finally {
      connection.destroy();
    }
  });

  it.each([
    ['REST', rest],
    ['tRPC', '/trpc/notepad.exportJobs.create'],
  ])('invites the body of a request that passes the checks, then answers it (%s)', async (_surface, target) => {
    const payload = body();
    const connection = await openRaw(server.port, expecting(target, `Bearer ${token}`, Buffer.byteLength(payload)));
    try {
      const interim = await within(connection.response, 5_000, 'the interim response');
      expect(interim.status).toBe(100);
      // The final response follows the interim one on the same connection.
      let received = '';
      connection.socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      connection.write(payload);
      await within(
        new Promise<void>((resolve) => {
          // tRPC's answer may come chunked: wait for its outcome rather than a Content-Length.
          const check = () => (/"type":"running"|"error(Name)?"/.test(received) ? resolve() : setTimeout(check, 10));
          check();
        }),
        5_000,
        'the final response',
      );
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(received).toMatch(/"status":\{"type":"running"\}/);
    } finally {
      connection.destroy();
    }
  });
});
