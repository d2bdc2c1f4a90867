/**
 * A PostgreSQL address that takes the TCP connection and never answers (a host gone
 * mid-failover, a dropped route): opening the backend, and the runners' LISTEN client, fail
 * with a connection error after the connect timeout (db/pg/index.ts PG_CONNECTION_OPTIONS)
 * instead of waiting forever. No PostgreSQL needed: a server that accepts and stays silent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForJobs } from '../server/jobs/pg-wakeups.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { isConnectionLost } from '../server/storage-health.js';

let silent: Server;
const sockets: Socket[] = [];
let url = '';
/** Far above the connect timeout; reaching it means the connect hung. */
const BOUND_MS = 60_000;

beforeAll(async () => {
  silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening));
  const address = silent.address();
  url = `postgres://user:secret@127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/notepad`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((closed) => silent.close(closed));
});

const hung = () => new Promise<'hung'>((done) => setTimeout(() => done('hung'), BOUND_MS).unref());

describe('a PostgreSQL that never answers', () => {
  it('opening the backend fails with a connection error, not a wait without end', { timeout: BOUND_MS + 10_000 }, async () => {
    const outcome = await Promise.race([openPgBackend(url, { pool: 1 }).then(
      (backend) => backend.close().then(() => 'opened' as const),
      (error: unknown) => error,
    ), hung()]);
    expect(outcome).not.toBe('hung');
    expect(outcome).toBeInstanceOf(Error);
    expect(isConnectionLost(outcome)).toBe(true);
  });

  it('the job listener reports a connection error and tries again', { timeout: BOUND_MS + 10_000 }, async () => {
    const errors: Error[] = [];
    let reported!: () => void;
    const firstError = new Promise<'reported'>((done) => (reported = () => done('reported')));
    const listener = listenForJobs({ connectionString: url, onWake: () => {}, onError: (error) => (errors.push(error), reported()), retryMs: 100 });
    try {
      expect(await Promise.race([firstError, hung()])).toBe('reported');
      expect(isConnectionLost(errors[0])).toBe(true);
    } finally {
      await listener.close();
    }
  });
});
