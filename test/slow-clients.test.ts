import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foundryErrorProblems } from './contract-routes.js';
import { seedUser } from './helpers.js';
import { startApiServer, type ApiServer } from './live-server.js';
import { head, openRaw, within, type RawConnection, type RawResponse } from './raw-http.js';

/**
 * What never reaches a route, answered in the contract's shape over a real socket: clients
 * too slow with their headers or body (408), and requests Node's parser refuses (400, 431).
 * Each answer carries an errorInstanceId that a log line carries too, and the connection
 * closes. The server runs with short limits so that the waits stay short (long enough that a
 * busy machine still sends a whole request within them); every wait here is
 * bounded, and none is a measure of speed.
 */

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Far beyond either limit plus Node's checking interval: an answer later than this is no answer. */
const PATIENCE_MS = 10_000;

let server: ApiServer;
let token: string;

beforeAll(async () => {
  server = await startApiServer({ config: { http: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS } } });
  token = (await seedUser(server.env.deps)).token;
});
afterAll(() => server?.close());

type Envelope = 'rest' | 'trpc';

/** The catalog error of a response, checked for the contract's shape in its envelope. */
function contractError(response: RawResponse, envelope: Envelope): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const json = response.json as Record<string, unknown> & { error?: { code?: unknown; data?: Record<string, unknown> } };
  const error = envelope === 'rest' ? json : json.error?.data;
  if (envelope === 'trpc') expect(json.error?.code).toEqual(expect.any(Number));
  expect(foundryErrorProblems(error, envelope === 'rest' ? response.status : undefined), JSON.stringify(json)).toEqual([]);
  if (envelope === 'trpc') expect(error?.httpStatus).toBe(response.status);
  return error!;
}

/** The log lines that carry this errorInstanceId. */
const logged = (errorInstanceId: unknown) => server.env.logLines().filter((line) => line.errorInstanceId === errorInstanceId);

/** Waits (bounded) for the answer, and for the server to close the connection after it. */
async function answerAndClose(connection: RawConnection, what: string): Promise<RawResponse> {
  try {
    const response = await within(connection.response, PATIENCE_MS, what);
    await within(connection.closed, PATIENCE_MS, `${what}: the server closing the connection`);
    return response;
  } finally {
    connection.destroy();
  }
}

describe('time limits', () => {
  it('headers that never finish: 408 Default:RequestTimeout, logged, and the connection closed', async () => {
    const connection = await openRaw(server.port, 'GET /api/v2/notepad/exportJobs/x?preview=true HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const response = await answerAndClose(connection, 'half-sent headers');
    expect(response.status).toBe(408);
    const error = contractError(response, 'rest');
    expect(error).toMatchObject({ errorName: 'Default:RequestTimeout', errorCode: 'REQUEST_TIMEOUT' });
    expect(logged(error.errorInstanceId)).toMatchObject([{ msg: 'request rejected', errorName: 'Default:RequestTimeout', statusCode: 408, code: 'ERR_HTTP_REQUEST_TIMEOUT' }]);
  });

  it('a connection that never sends a byte gets the same 408 and is closed', async () => {
    const response = await answerAndClose(await openRaw(server.port), 'a silent connection');
    expect(response.status).toBe(408);
    expect(contractError(response, 'rest')).toMatchObject({ errorName: 'Default:RequestTimeout' });
  });

  it.each([
    ['REST', '/api/v2/notepad/exportJobs/create?preview=true', 'rest'],
    ['tRPC', '/trpc/notepad.exportJobs.create', 'trpc'],
  ] as const)('%s: a body that stops coming is answered 408 as that request, and the connection closed', async (_what, target, envelope) => {
    const connection = await openRaw(
      server.port,
      head(`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Content-Length: 100') + '{"exportJobSource":',
    );
    const response = await answerAndClose(connection, 'a stalled body');
    expect(response.status).toBe(408);
    expect(response.headers.connection).toBe('close');
    const error = contractError(response, envelope);
    expect(error).toMatchObject({ errorName: 'Default:RequestTimeout', errorCode: 'REQUEST_TIMEOUT' });
    expect(logged(error.errorInstanceId)).toMatchObject([{ msg: 'request rejected', errorName: 'Default:RequestTimeout' }]);
  });

  it('a body that stops coming after its 401 gets no second answer: the connection is closed when the time is up', async () => {
    const connection = await openRaw(
      server.port,
      head('POST /api/v2/notepad/exportJobs/create?preview=true HTTP/1.1', 'Host: 127.0.0.1', 'Authorization: Bearer np_unknown', 'Content-Type: application/json', 'Content-Length: 100') + '{"a":',
    );
    const chunks: Buffer[] = [];
    connection.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const response = await answerAndClose(connection, 'a stalled body with an unknown token');
    expect(response.status).toBe(401);
    // Exactly the 401: its head and its body, nothing after it.
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(text.endsWith(response.body)).toBe(true);
  });
});

describe("requests Node's parser refuses", () => {
  const cases: Array<{ what: string; bytes: string | Buffer; status: number; errorName: string; envelope: Envelope }> = [
    {
      what: 'Content-Length together with Transfer-Encoding',
      bytes: head('POST /api/v2/notepad/exportJobs/create?preview=true HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 3', 'Transfer-Encoding: chunked') + '0\r\n\r\n',
      status: 400,
      errorName: 'Default:InvalidArgument',
      envelope: 'rest',
    },
    {
      what: 'a NUL in a header value',
      bytes: head('GET /api/v2/notepad/exportJobs/x?preview=true HTTP/1.1', 'Host: 127.0.0.1', 'X-Note: a\u0000b'),
      status: 400,
      errorName: 'Default:InvalidArgument',
      envelope: 'rest',
    },
    {
      what: 'a non-ASCII byte in the path',
      bytes: Buffer.concat([Buffer.from('GET /api/v2/notepad/exportJobs/'), Buffer.from('é', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]),
      status: 400,
      errorName: 'Default:InvalidArgument',
      envelope: 'rest',
    },
    {
      what: 'a non-ASCII byte in a tRPC path (in the tRPC envelope)',
      bytes: Buffer.concat([Buffer.from('GET /trpc/notepad.'), Buffer.from('é', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]),
      status: 400,
      errorName: 'Default:InvalidArgument',
      envelope: 'trpc',
    },
    {
      what: 'headers over 16 KiB',
      bytes: head('GET /api/v2/notepad/exportJobs/x?preview=true HTTP/1.1', 'Host: 127.0.0.1', `X-Padding: ${'p'.repeat(20 * 1024)}`),
      status: 431,
      errorName: 'Default:RequestHeaderFieldsTooLarge',
      envelope: 'rest',
    },
  ];

  it.each(cases)('$what: $status $errorName in the contract shape, logged, and the connection closed', async ({ what, bytes, status, errorName, envelope }) => {
    const response = await answerAndClose(await openRaw(server.port, bytes), what);
    expect(response.status).toBe(status);
    const error = contractError(response, envelope);
    expect(error.errorName).toBe(errorName);
    expect(logged(error.errorInstanceId)).toMatchObject([{ msg: 'request rejected', errorName, statusCode: status, code: expect.stringMatching(/^HPE_/) }]);
  });

  it('a bad chunk size in the body of an admitted request: 400 as that request, logged, and the connection closed', async () => {
    const connection = await openRaw(
      server.port,
      head('POST /trpc/admin.users.create HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked') + 'ZZ\r\n{}\r\n0\r\n\r\n',
    );
    const response = await answerAndClose(connection, 'a bad chunk size');
    expect(response.status).toBe(400);
    const error = contractError(response, 'trpc');
    expect(error).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { message: 'Invalid character in chunk size' } });
    expect(logged(error.errorInstanceId)).toMatchObject([{ msg: 'request rejected', errorName: 'Default:InvalidArgument', statusCode: 400 }]);
  });

  it('the server still serves afterwards', async () => {
    const response = await fetch(`${server.baseUrl}/health`);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
