import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { Logger } from 'pino';
import { sql } from 'drizzle-orm';
import { NotepadError } from './contract/errors.js';
import type { Deps } from './deps.js';
import { logError, retryAfterOf, sendError, toNotepadError } from './errors.js';
import type { FileStore } from './files/store.js';
import { restPlugin } from './rest.js';
import { appRouter, type AppRouter } from './routers/index.js';
import { createContextInner } from './trpc.js';

export interface AppOptions {
  deps: Deps;
  files: FileStore;
  logger: Logger;
}

const redactUrl = (url: string) => url.replace(/([?&]input=)[^&]*/g, '$1[redacted]');

const isTrpcUrl = (url: string) => /^\/trpc(?:[/?]|$)/.test(url);

/** An error raised outside any procedure (router, body parser): the contract's shape, in tRPC's envelope under /trpc. */
function sendAnyError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  return sendError(request, reply, error, isTrpcUrl(request.url) ? 'trpc' : 'rest');
}

/** The HTTP server: tRPC at /trpc, Foundry's REST surface at /api, and /health. */
export async function buildApp({ deps, files, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    // Paths such as /api/v2/notepad/exportJobs/create/ still match.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    return503OnClosing: true,
    // One line per request, written below with the query's tRPC `input` redacted: a client
    // may put anything there, a token included.
    logController: new LogController({ disableRequestLogging: true }),
    // The router answers a malformed percent-encoding or an over-long path parameter itself,
    // before any error handler, in Fastify's own body (and 414): route them to the catalog.
    frameworkErrors: (error, request, reply) => sendAnyError(request, reply, error),
  });

  // Before the plugins are registered: a plugin's routes keep the error handler in force when
  // they were added, and the tRPC plugin's body parser (413, unsupported media type) has no other.
  app.setNotFoundHandler((request, reply) => sendAnyError(request, reply, new NotepadError('Default:NotFound')));
  app.setErrorHandler((error, request, reply) => sendAnyError(request, reply, error));

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request completed',
    );
    done();
  });

  // Liveness: 200 while the process serves. A full store is reported here (a restart
  // would not help), and new work is refused with StorageFull meanwhile.
  app.get('/health', async () => {
    deps.db.run(sql`select 1`);
    const problems = deps.storage.problems();
    return problems.length ? { status: 'degraded', problems } : { status: 'ok' };
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }) => createContextInner({ deps, authorization: req.headers.authorization, log: req.log }),
      onError: ({ error, req }) => logError(req.log, toNotepadError(error), 'procedure'),
      responseMeta: ({ errors }) => {
        const retryAfter = retryAfterOf(errors.map(toNotepadError));
        return retryAfter === undefined ? {} : { headers: { 'Retry-After': String(retryAfter) } };
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  await app.register(restPlugin, { prefix: '/api', deps, files });
  return app;
}
