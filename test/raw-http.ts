import { connect, type Socket } from 'node:net';

/**
 * HTTP/1.1 over a bare TCP socket (node:net), for what fetch cannot send: half-sent bodies,
 * slow headers, malformed framing. Every wait is bounded.
 */

export interface RawResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** Parsed as JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export interface RawConnection {
  socket: Socket;
  /** The first response on the connection, once its headers and Content-Length bytes are in. */
  response: Promise<RawResponse>;
  /** Settles when the connection closes, whoever closed it. */
  closed: Promise<void>;
  /** Whether the client side wrote anything the server could not take (EPIPE, ECONNRESET). */
  readonly writeErrors: number;
  write(data: string | Buffer): void;
  destroy(): void;
}

function parse(buffer: Buffer): RawResponse | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body, json };
}

/** Opens a connection (optionally from another loopback address, such as 127.0.0.2) and writes `first`. */
export function openRaw(port: number, first?: string | Buffer, options: { localAddress?: string } = {}): Promise<RawConnection> {
  return new Promise((resolveOpen, rejectOpen) => {
    const socket = connect({ host: '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    let received = Buffer.alloc(0);
    let writeErrors = 0;
    let resolveResponse!: (response: RawResponse) => void;
    let rejectResponse!: (error: Error) => void;
    const response = new Promise<RawResponse>((resolve, reject) => {
      resolveResponse = resolve;
      rejectResponse = reject;
    });
    // Callers that only watch `closed` must not see an unhandled rejection.
    response.catch(() => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parse(received);
      if (parsed) resolveResponse(parsed);
    });
    socket.on('error', () => {
      writeErrors++;
    });
    socket.once('close', () => rejectResponse(new Error(`closed before a whole response; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`)));
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first);
      resolveOpen({
        socket,
        response,
        closed,
        get writeErrors() {
          return writeErrors;
        },
        write: (data) => {
          if (!socket.destroyed) socket.write(data);
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', (error) => rejectOpen(error));
  });
}

/** Rejects after `ms` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Request head lines joined for the wire, ending with the blank line. */
export const head = (...lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;
