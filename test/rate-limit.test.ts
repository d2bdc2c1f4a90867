import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ExportJobs } from '@osdk/foundry.notepad';
import { createFetchOrThrow, createRetryingFetch } from '@osdk/shared.net.fetch';
import { buildApp } from '../server/app.js';
import { SCOPES } from '../server/contract/api.js';
import { configFromEnv, defaultConfig } from '../server/config.js';
import { createRateLimiter } from '../server/limits/rate-limit.js';
import * as admin from '../server/services/admin.js';
import { foundryErrorProblems } from './contract-routes.js';
import { createTestEnv, seedDocument, seedUser, type TestEnv } from './helpers.js';
import { startLiveServer, type LiveServer } from './live-server.js';

/**
 * Requests per bearer token (server/limits/rate-limit.ts): a token bucket, applied once per
 * request right after authentication, so 401 comes before 429 and 429 before 403.
 */

describe('the token bucket', () => {
  it('allows a burst, then one request per 1/perSecond, and says how long to wait', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 4, burst: 3, now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a')).toBeCloseTo(0.25);
    // Another key has its own bucket.
    expect(limiter.take('b')).toBeUndefined();
    now += 100;
    expect(limiter.take('a')).toBeCloseTo(0.15);
    now += 200;
    expect(limiter.take('a')).toBeUndefined();
    expect(limiter.take('a')).toBeCloseTo(0.2);
    // Refilling stops at the burst.
    now += 60_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')].map((w) => w === undefined)).toEqual([true, true, true, false]);
  });

  it('forgets idle buckets, and never holds more than maxKeys', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 10, burst: 5, now: () => now, maxKeys: 1_000 });
    for (let i = 0; i < 5_000; i++) limiter.take(`key-${i}`);
    expect(limiter.size).toBe(1_000);
    // Each bucket is full again 100 ms after its one request: the next request drops them all.
    now += 200;
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
    // A bucket still refilling is kept (it remembers the debt) until maxKeys forces it out.
    for (let i = 0; i < 5; i++) limiter.take('busy');
    limiter.take('other');
    expect(limiter.size).toBe(3);
    expect(limiter.take('busy')).toBeCloseTo(0.1);
  });
});

describe('over REST and tRPC, with a controlled clock', () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let token: string;
  let noScope: string;
  const jobUrl = '/api/v2/notepad/exportJobs/ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000?preview=true';
  const trpcUrl = `/trpc/notepad.exportJobs.get?input=${encodeURIComponent(JSON.stringify({ exportJobRid: 'ri.notepad.main.export-job.00000000-0000-4000-8000-000000000000' }))}`;

  beforeAll(async () => {
    env = await createTestEnv({ config: { http: { rateLimit: { perSecond: 2, burst: 3 } } } });
    app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
    const user = await seedUser(env.deps);
    token = user.token;
    noScope = (await admin.createToken(env.deps, { userId: user.userId, scopes: [SCOPES.write] })).token;
  });
  afterAll(async () => {
    await app?.close();
    env?.cleanup();
  });

  const get = (url: string, bearer: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } });

  it('a burst beyond the limit gets 429 with Retry-After; after the clock moves, requests succeed again', async () => {
    const burst = await Promise.all([get(jobUrl, token), get(trpcUrl, token), get(jobUrl, token)]);
    expect(burst.map((r) => r.statusCode)).toEqual([404, 404, 404]);

    const rest = await get(jobUrl, token);
    expect(rest.statusCode).toBe(429);
    expect(rest.headers['retry-after']).toBe('1');
    expect(rest.headers['qos-retry-hint']).toBeUndefined(); // a second's wait: the official client should retry
    expect(rest.json()).toMatchObject({ errorName: 'Default:TooManyRequests', errorCode: 'TOO_MANY_REQUESTS', parameters: {} });
    expect(foundryErrorProblems(rest.json(), 429)).toEqual([]);
    const logged = env.logLines().filter((line) => line.errorInstanceId === rest.json<{ errorInstanceId: string }>().errorInstanceId);
    expect(logged).toMatchObject([{ msg: 'request rejected', errorName: 'Default:TooManyRequests', statusCode: 429 }]);

    const trpc = await get(trpcUrl, token);
    expect(trpc.statusCode).toBe(429);
    expect(trpc.headers['retry-after']).toBe('1');
    const envelope = trpc.json<{ error: { code: number; data: Record<string, unknown> } }>().error;
    expect(envelope.code).toBe(-32029);
    expect(envelope.data).toMatchObject({ errorName: 'Default:TooManyRequests', errorCode: 'TOO_MANY_REQUESTS', httpStatus: 429 });
    expect(foundryErrorProblems(envelope.data, undefined)).toEqual([]);

    // 0.6 s refills one request (2/s), not two.
    env.clock.advance(600);
    expect((await get(trpcUrl, token)).statusCode).toBe(404);
    expect((await get(jobUrl, token)).statusCode).toBe(429);
    env.clock.advance(10_000);
    expect((await Promise.all([get(jobUrl, token), get(jobUrl, token), get(jobUrl, token)])).map((r) => r.statusCode)).toEqual([404, 404, 404]);
  });

  it('401 comes before 429 (and costs no token); 429 before 403', async () => {
    env.clock.advance(10_000);
    for (let i = 0; i < 5; i++) expect((await get(jobUrl, 'np_unknown')).statusCode).toBe(401);
    // The token the 401s named is another; this one's bucket is full.
    for (let i = 0; i < 3; i++) expect((await get(jobUrl, noScope)).json()).toMatchObject({ errorName: 'ApiUsageDenied' });
    expect((await get(jobUrl, noScope)).json()).toMatchObject({ errorName: 'Default:TooManyRequests' });
    expect((await get(jobUrl, token)).statusCode).toBe(404);
  });

  it('with the limit off, no burst is refused', async () => {
    const unlimited = await createTestEnv({ config: { http: { rateLimit: false } } });
    const unlimitedApp = await buildApp({ deps: unlimited.deps, files: unlimited.files, logger: unlimited.logger });
    try {
      const { token: t } = await seedUser(unlimited.deps);
      const statuses = new Set<number>();
      for (let i = 0; i < 600; i++) {
        const response = await unlimitedApp.inject({ method: 'GET', url: jobUrl, headers: { authorization: `Bearer ${t}` } });
        statuses.add(response.statusCode);
      }
      // More than the default burst (500) at one instant of the frozen clock.
      expect(defaultConfig().http.rateLimit).toEqual({ perSecond: 100, burst: 500 });
      expect([...statuses]).toEqual([404]);
    } finally {
      await unlimitedApp.close();
      unlimited.cleanup();
    }
  });
});

describe('settings', () => {
  it('NOTEPAD_RATE_LIMIT is requests per second per token, or off; NOTEPAD_RATE_BURST the burst', () => {
    expect(configFromEnv({}).http.rateLimit).toEqual({ perSecond: 100, burst: 500 });
    expect(configFromEnv({ NOTEPAD_RATE_LIMIT: 'off' }).http.rateLimit).toBe(false);
    expect(configFromEnv({ NOTEPAD_RATE_LIMIT: '2.5', NOTEPAD_RATE_BURST: '7' }).http.rateLimit).toEqual({ perSecond: 2.5, burst: 7 });
    expect(() => configFromEnv({ NOTEPAD_RATE_LIMIT: '0' })).toThrow(/NOTEPAD_RATE_LIMIT/);
    expect(() => configFromEnv({ NOTEPAD_RATE_LIMIT: 'fast' })).toThrow(/NOTEPAD_RATE_LIMIT/);
    expect(() => configFromEnv({ NOTEPAD_RATE_BURST: '0' })).toThrow(/NOTEPAD_RATE_BURST/);
  });

  it('the other HTTP limits come from the environment too', () => {
    expect(
      configFromEnv({
        NOTEPAD_HEADERS_TIMEOUT_MS: '1000',
        NOTEPAD_REQUEST_TIMEOUT_MS: '2000',
        NOTEPAD_MAX_CONNECTIONS: '0',
        NOTEPAD_MAX_CONNECTIONS_PER_CLIENT: '3',
        NOTEPAD_TRPC_MAX_BATCH: '4',
      }).http,
    ).toEqual({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, maxConnections: 0, maxConnectionsPerClient: 3, maxBatchSize: 4, rateLimit: { perSecond: 100, burst: 500 } });
    expect(configFromEnv({}).http).toEqual(defaultConfig().http);
    expect(defaultConfig().http).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 4096, maxConnectionsPerClient: 256, maxBatchSize: 10 });
    expect(() => configFromEnv({ NOTEPAD_TRPC_MAX_BATCH: '0' })).toThrow(/NOTEPAD_TRPC_MAX_BATCH/);
  });
});

describe('the official client with its retrying fetch', () => {
  let server: LiveServer;
  beforeAll(async () => {
    // One request per second, two at once: the third of three creates sent together is refused
    // unless a whole second passes between them (it did at two per second on a loaded machine),
    // and the client's retries (after 0.5-1.5 s, then 1-3 s) find a token within the test's time.
    server = await startLiveServer({ config: { http: { rateLimit: { perSecond: 1, burst: 2 } } } });
  });
  afterAll(() => server?.close());

  it('succeeds after a throttled burst: the 429s are retried', async () => {
    const user = await seedUser(server.env.deps);
    const documentRid = await seedDocument(server.env.deps, user.userId);
    const statuses: number[] = [];
    const authorized = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${user.token}`);
      const response = await fetch(input, { ...init, headers });
      statuses.push(response.status);
      return response;
    };
    // As the OSDK composes it: errors thrown as PalantirApiError, 429 and 503 retried.
    const ctx = { baseUrl: server.baseUrl, tokenProvider: async () => user.token, fetch: createRetryingFetch(createFetchOrThrow(authorized)) };
    const request = { exportJobSource: { type: 'documentSource' as const, documentRid }, exportJobTarget: { type: 'pdf' as const, userLocale: 'en-US', userTimezone: 'Etc/UTC' } };
    const jobs = await Promise.all([1, 2, 3].map(() => ExportJobs.create(ctx, request, { preview: true })));
    expect(jobs.map((job) => job.status.type)).toEqual(['running', 'running', 'running']);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  }, 10_000);
});
