/**
 * What Node's HTTP server cannot hand to a route: requests its parser refuses (a bad chunk
 * size, Content-Length with Transfer-Encoding, a NUL in a header, a non-ASCII path: 400;
 * headers over Node's 16 KiB: 431) and clients too slow to send their headers or body
 * (408). Each is answered in the contract's shape, with an errorInstanceId that a log line
 * carries too, and the connection is closed.
 */
import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpLimits } from '../config.js';
import { envelopeOf, logError, rawErrorResponse, sendError, toNotepadError } from '../errors.js';

/**
 * The server's timeouts. Node checks them on an interval (30 s by default, which would let a
 * 10 s limit run to 40 s): here a quarter of the shorter limit, between 50 ms and 1 s.
 */
export function timeoutOptions(limits: HttpLimits): { requestTimeout: number; http: ServerOptions } {
  const requestTimeout = limits.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, requestTimeout);
  const connectionsCheckingInterval = Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4)));
  return { requestTimeout, http: { requestTimeout, headersTimeout, connectionsCheckingInterval } };
}

export interface ClientErrors {
  /** Notes the request a socket is serving (an onRequest hook), so an error on that socket can tell whose it is. */
  track(request: FastifyRequest, reply: FastifyReply): void;
  /** Fastify's `clientErrorHandler`. */
  handle(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void;
}

/** The request target of the bytes Node's parser refused (a Buffer, when it has them), to pick the envelope. */
const requestTarget = (raw: unknown) => (Buffer.isBuffer(raw) ? (raw.subarray(0, 256).toString('latin1').split(' ', 2)[1] ?? '') : '');

export function createClientErrors(log: FastifyBaseLogger): ClientErrors {
  const serving = new WeakMap<Socket, { request: FastifyRequest; reply: FastifyReply }>();
  return {
    track(request, reply) {
      serving.set(request.raw.socket, { request, reply });
    },

    handle(error, socket) {
      // A reset connection has nobody left to answer.
      if (error.code === 'ECONNRESET' || socket.destroyed) {
        socket.destroy();
        return;
      }
      const current = serving.get(socket);
      // About the body of the request the router has (a timeout, a bad chunk): answer it as
      // that request, unless an answer has begun (say, a 401 before the body was read).
      if (current && !current.request.raw.complete && !current.reply.sent && !current.reply.raw.headersSent) {
        current.reply.header('Connection', 'close');
        sendError(current.request, current.reply, error, envelopeOf(current.request.url));
        return;
      }
      if (current && (!current.request.raw.complete || !current.reply.raw.writableFinished)) {
        // Bytes written now would land inside, or after, a response already on its way.
        current.request.log.debug({ code: error.code }, 'connection closed after its answer');
        socket.destroy();
        return;
      }
      // No request of this connection reached the router (or the last one is done): the
      // parser refused the headers, or they never came. Only raw bytes can answer.
      const notepad = toNotepadError(error);
      logError(log.child({ remoteAddress: socket.remoteAddress, code: error.code }), notepad);
      if (socket.writable) socket.write(rawErrorResponse(notepad, envelopeOf(requestTarget(error.rawPacket))));
      socket.destroy();
    },
  };
}
