import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { Logger } from 'pino';
import { sql } from 'drizzle-orm';
import { NotepadError } from './contract/errors.js';
import type { Deps } from './deps.js';
import { toNotepadError } from './error-mapping.js';
import type { FileStore } from './files/store.js';
import { restPlugin, sendError } from './rest.js';
import { appRouter, type AppRouter } from './routers/index.js';
import { createContextInner } from './trpc.js';

export interface AppOptions {
  deps: Deps;
  files: FileStore;
  logger: Logger;
}

/** The HTTP server: tRPC at /trpc, Foundry's REST surface at /api, and /health. */
export async function buildApp({ deps, files, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    // Paths such as /api/v2/notepad/exportJobs/create/ still match.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    return503OnClosing: true,
  });

  app.get('/health', async () => {
    deps.db.run(sql`select 1`);
    return { status: 'ok' };
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }) => createContextInner({ deps, authorization: req.headers.authorization, log: req.log }),
      onError: ({ error, req }) => {
        const notepad = toNotepadError(error);
        const fields = { errorInstanceId: notepad.errorInstanceId, errorName: notepad.errorName, errorCode: notepad.errorCode };
        if (notepad.httpStatus >= 500) req.log.error({ ...fields, err: notepad.cause ?? notepad }, 'procedure failed');
        else req.log.info(fields, 'procedure rejected');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  await app.register(restPlugin, { prefix: '/api', deps, files });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, new NotepadError('Default:NotFound')));
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  return app;
}
