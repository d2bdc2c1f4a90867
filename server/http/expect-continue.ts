/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): a client that sends it waits for an interim
 * "100 Continue" before it uploads the body, so that a request the server will refuse
 * costs no upload. Node answers 100 by itself as soon as the headers are in, before the
 * credentials, rate limit, scope and preview are checked, inviting the body of a request
 * that is then refused. Here the request goes through like any other instead, and the 100
 * is sent once every check before the body has passed (the first preParsing hook, right
 * before the body is read); a refused request gets its error with no 100 before it.
 */
import type { FastifyInstance } from 'fastify';

const CONTINUE = /^\s*100-continue\s*$/i;

export function continueAfterChecks(app: FastifyInstance): void {
  // With a listener here Node no longer answers 100 itself; the request is Fastify's as usual.
  app.server.on('checkContinue', (request, response) => app.server.emit('request', request, response));
  app.addHook('preParsing', async (request, reply, payload) => {
    if (CONTINUE.test(request.headers.expect ?? '') && !reply.raw.headersSent) reply.raw.writeContinue();
    return payload;
  });
}
