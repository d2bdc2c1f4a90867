/**
 * How many connections the process holds open: at most `maxConnections` in all and
 * `maxConnectionsPerClient` from one remote address. A connection over either cap is closed
 * as soon as it is accepted, before it is read, so it costs nothing more; a line at `warn`
 * says how many were refused, at most once a second. 0 turns a cap off.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpLimits } from '../config.js';
import type { Log } from '../log.js';

const REPORT_EVERY_MS = 1_000;

export function limitConnections(server: Server, limits: Pick<HttpLimits, 'maxConnections' | 'maxConnectionsPerClient'>, log: Log): void {
  const refused = { global: 0, perClient: 0 };
  let report: NodeJS.Timeout | undefined;
  const count = (cap: keyof typeof refused) => {
    refused[cap]++;
    report ??= setTimeout(() => {
      report = undefined;
      log.warn({ refused: { ...refused }, ...limits }, 'connections refused: over the connection caps');
      refused.global = 0;
      refused.perClient = 0;
    }, REPORT_EVERY_MS).unref();
  };

  // Node closes what is over this before anything reads it, and reports it as 'drop'.
  if (limits.maxConnections > 0) {
    server.maxConnections = limits.maxConnections;
    server.on('drop', () => count('global'));
  }

  if (limits.maxConnectionsPerClient <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const n = (open.get(address) ?? 0) + 1;
    if (n > limits.maxConnectionsPerClient) {
      socket.destroy();
      count('perClient');
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
