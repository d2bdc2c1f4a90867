import { afterEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './live-server.js';
import { head, openRaw, within, type RawConnection } from './raw-http.js';

/**
 * The connection caps (server/http/connections.ts): over the global cap or the per-client
 * (remote address) cap, a connection is closed as soon as it is accepted, unanswered, while
 * everyone else is served. Other clients are other loopback addresses (127.0.0.2, …).
 */

let server: ApiServer | undefined;
const open: RawConnection[] = [];
afterEach(async () => {
  for (const connection of open.splice(0)) connection.destroy();
  await server?.close();
  server = undefined;
});

const HEALTH = head('GET /health HTTP/1.1', 'Host: 127.0.0.1');

async function connectFrom(address: string, first?: string): Promise<RawConnection> {
  const connection = await openRaw(server!.port, first, { localAddress: address });
  open.push(connection);
  return connection;
}

/** Polls `probe` until it returns something, for at most 5 s. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether the server answers /health on this connection (bounded), or closes it unanswered. */
async function fate(connection: RawConnection): Promise<'served' | 'closed unanswered'> {
  connection.write(HEALTH);
  return within(connection.response, 5_000, 'an answer or a close').then(
    (response) => {
      expect(response.status).toBe(200);
      return 'served' as const;
    },
    () => 'closed unanswered' as const,
  );
}

describe('connection caps', () => {
  it('a client over its cap is closed at once; other clients are served, and it may connect again once under', async () => {
    server = await startApiServer({ config: { http: { maxConnectionsPerClient: 3 } } });
    const held = [await connectFrom('127.0.0.2'), await connectFrom('127.0.0.2'), await connectFrom('127.0.0.2')];
    const fourth = await connectFrom('127.0.0.2');
    expect(await fate(fourth)).toBe('closed unanswered');
    // Another address, with three of its own: all served.
    for (let i = 0; i < 3; i++) expect(await fate(await connectFrom('127.0.0.3'))).toBe('served');
    // The three held connections were accepted: each is served in turn.
    for (const connection of held) expect(await fate(connection)).toBe('served');
    held[0]!.destroy();
    await held[0]!.closed;
    // The server sees the close on its next turn; a connection after that is under the cap.
    const again = await eventually(async () => {
      const attempt = await connectFrom('127.0.0.2');
      return (await fate(attempt)) === 'served' ? attempt : undefined;
    }, 'a connection under the cap again');
    expect(again.socket.destroyed).toBe(false);
  });

  it('over the global cap, any new connection is closed at once, and the refusals are logged', async () => {
    server = await startApiServer({ config: { http: { maxConnections: 4, maxConnectionsPerClient: 0 } } });
    const held = [];
    for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) held.push(await connectFrom(address));
    expect(await fate(await connectFrom('127.0.0.6'))).toBe('closed unanswered');
    expect(await fate(await connectFrom('127.0.0.1'))).toBe('closed unanswered');
    for (const connection of held) expect(await fate(connection)).toBe('served');
    // Refusals are logged together at most once a second: two refusals a second apart are two lines.
    const refusalLines = () => server!.env.logLines().filter((l) => l.msg === 'connections refused: over the connection caps');
    const refusedIn = (lines: Array<Record<string, unknown>>, cap: 'global' | 'perClient') =>
      lines.reduce((sum, line) => sum + ((line.refused as Record<string, number> | undefined)?.[cap] ?? 0), 0);
    const warned = await eventually(async () => {
      const lines = refusalLines();
      return refusedIn(lines, 'global') >= 2 ? lines : undefined;
    }, 'the refusals in the log');
    expect(refusedIn(warned, 'global')).toBe(2);
    expect(refusedIn(warned, 'perClient')).toBe(0);
    for (const line of warned) expect(line).toMatchObject({ level: 40, maxConnections: 4 });
  });

  it('with both caps off (0), a client may hold many connections', async () => {
    server = await startApiServer({ config: { http: { maxConnections: 0, maxConnectionsPerClient: 0 } } });
    const many = [];
    for (let i = 0; i < 300; i++) many.push(await connectFrom('127.0.0.2'));
    expect(await fate(many[299]!)).toBe('served');
    expect(await fate(many[0]!)).toBe('served');
  });
});
