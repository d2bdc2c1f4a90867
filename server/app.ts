import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { NotepadError } from './contract/errors.js';
import type { Deps } from './deps.js';
import { envelopeOf, logError, retryHeadersOf, sendError, toNotepadError } from './errors.js';
import type { FileStore } from './files/store.js';
import { createClientErrors, timeoutOptions } from './http/client-errors.js';
import { limitConnections } from './http/connections.js';
import { continueAfterChecks } from './http/expect-continue.js';
import { createGate, credentialsOf, isApiRoute } from './http/gate.js';
import { registerApiDocs } from './operating/api-docs.js';
import { createMetrics, METRICS_URL, type MetricsOptions } from './operating/metrics.js';
import { checkReadiness, READY_URL } from './operating/readiness.js';
import { startApiSummary, type SummaryTimer } from './operating/summary.js';
import { restPlugin } from './rest.js';
import { appRouter, type AppRouter } from './routers/index.js';
import { createContextInner } from './trpc.js';

export interface AppOptions {
  deps: Deps;
  files: FileStore;
  logger: Logger;
  /** Told of every route as it is added (Fastify's onRoute), for tools and tests. */
  onRoute?: (route: RouteOptions) => void;
  /** This process' render pool, if it renders: its busy workers are a metric. */
  renderPool?: MetricsOptions['renderPool'];
  /** Where GET /metrics registers its metrics; default: a registry of this app's own. */
  metricsRegistry?: Registry;
  /** Drives the `api summary` line; default: Node's timers. */
  summaryTimer?: SummaryTimer;
}

const redactUrl = (url: string) => url.replace(/([?&]input=)[^&]*/g, '$1[redacted]');

/** An error raised outside any procedure (router, body parser): the contract's shape, in tRPC's envelope under /trpc. */
function sendAnyError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  return sendError(request, reply, error, envelopeOf(request.url));
}

/**
 * The HTTP server: tRPC at /trpc, Foundry's REST surface at /api, its description
 * (/api/openapi.json, /docs), and for operators /health, /ready and /metrics.
 */
export async function buildApp({ deps, files, logger, onRoute, renderPool, metricsRegistry, summaryTimer }: AppOptions): Promise<FastifyInstance> {
  const limits = deps.config.http;
  const clientErrors = createClientErrors(logger as FastifyBaseLogger);
  const gate = createGate(deps);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    // Slow headers or bodies are answered 408, malformed requests 400 or 431, in the
    // contract's shape (http/client-errors.ts).
    ...timeoutOptions(limits),
    clientErrorHandler: (error, socket) => clientErrors.handle(error, socket),
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
  if (onRoute) app.addHook('onRoute', onRoute);

  // Before the plugins are registered: a plugin's routes keep the error handler in force when
  // they were added, and the tRPC plugin's body parser (413, unsupported media type) has no other.
  const notFound = (request: FastifyRequest, reply: FastifyReply) => sendAnyError(request, reply, new NotepadError('Default:NotFound'));
  app.setNotFoundHandler(notFound);
  app.setErrorHandler((error, request, reply) => sendAnyError(request, reply, error));

  // Every request, once its headers are in and before its body is read (http/gate.ts). Added
  // before the plugins, so that their routes and not-found handlers run it too.
  app.addHook('onRequest', async (request, reply) => {
    clientErrors.track(request, reply);
    // An unknown route is 404 whatever the credentials, as the contract says: answered here,
    // so that no body is read for it (the not-found handler would run after the body parser).
    if (request.is404) return notFound(request, reply);
    if (!isApiRoute(request)) return;
    try {
      await gate.admit(request);
    } catch (error) {
      return sendAnyError(request, reply, error);
    }
  });

  // Before the plugins too, so that every route's body waits for its checks (http/expect-continue.ts).
  continueAfterChecks(app);

  const metrics = deps.config.metrics ? createMetrics({ deps, registry: metricsRegistry, renderPool }) : undefined;
  const summary = startApiSummary({ deps, log: logger, intervalMs: deps.config.summaryIntervalMs, now: deps.now, timer: summaryTimer });
  app.addHook('onClose', async () => {
    summary.stop();
    metrics?.stop();
  });
  // Event streams and watch subscriptions last until their job ends: end them, or closing
  // would wait for every followed job. Clients resume with their last event id.
  app.addHook('preClose', (done) => {
    // Listeners end now; the hints' connection (PostgreSQL) closes in the background.
    void deps.watchers.close();
    done();
  });
  app.addHook('onClose', async () => {
    await deps.watchers.close();
  });

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 },
      'request completed',
    );
    // The route's template, never its URL: labels must not carry RIDs or anything a caller chose.
    metrics?.observeRequest({ route: request.routeOptions.url, method: request.method, statusCode: reply.statusCode, seconds: reply.elapsedTime / 1000 });
    summary.request(reply.statusCode);
    done();
  });

  // Liveness: 200 while the process serves. A full store is reported here (a restart
  // would not help), and new work is refused with StorageFull meanwhile.
  app.get('/health', async () => {
    await deps.stores.operating.ping();
    const problems = deps.storage.problems();
    return problems.length ? { status: 'degraded', problems } : { status: 'ok' };
  });

  // Readiness: 503 while any check fails (readiness.ts), each failing check named.
  app.get(READY_URL, async (_request, reply) => {
    const { ready, checks } = await checkReadiness({ deps, files });
    const failing = Object.entries(checks).flatMap(([name, check]) => (check.ok ? [] : [name]));
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', ...(ready ? {} : { failing }), checks });
  });

  if (metrics) {
    app.get(METRICS_URL, async (_request, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.header('Content-Type', contentType).send(body);
    });
  }

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }) => createContextInner({ deps, ...credentialsOf(req), log: req.log }),
      maxBatchSize: limits.maxBatchSize,
      onError: ({ error, req }) => logError(req.log, toNotepadError(error), 'procedure'),
      // Every answer but a subscription's event stream is JSON: tRPC leaves the type unset when
      // it refuses a request's media type, and the body went out as text/plain.
      responseMeta: ({ errors, type }) => ({
        headers: { ...retryHeadersOf(errors.map(toNotepadError)), ...(type === 'subscription' ? {} : { 'content-type': 'application/json' }) },
      }),
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  await app.register(restPlugin, { prefix: '/api', deps, files });
  await registerApiDocs(app);
  limitConnections(app.server, limits, logger);
  return app;
}
