import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import type { DepsOptions } from '../server/deps.js';
import { notifyOnCreate } from '../server/job-events.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { createRenderPool, type RenderPool } from '../server/render/pool.js';
import { createTestEnv, type TestEnv, type TestEnvOptions } from './helpers.js';

export interface LiveServer<E extends TestEnv = TestEnv> {
  env: E;
  app: FastifyInstance;
  baseUrl: string;
  runner: JobRunner;
  pool: RenderPool;
  close(): Promise<void>;
}

export interface ApiServer<E extends TestEnv = TestEnv> {
  env: E;
  app: FastifyInstance;
  port: number;
  baseUrl: string;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance): Promise<{ port: number; baseUrl: string }> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('server has no address');
  return { port: address.port, baseUrl: `http://127.0.0.1:${address.port}` };
}

/**
 * The whole service on 127.0.0.1 and an ephemeral port, rendering in a real worker pool, on the
 * test backend (createTestEnv) or the environment `makeEnv` makes (createSqliteTestEnv).
 */
export async function startLiveServer(options?: Pick<DepsOptions, 'config'>): Promise<LiveServer>;
export async function startLiveServer<E extends TestEnv>(options: Pick<DepsOptions, 'config'>, makeEnv: (options: TestEnvOptions) => Promise<E>): Promise<LiveServer<E>>;
export async function startLiveServer(
  options: Pick<DepsOptions, 'config'> = {},
  makeEnv: (options: TestEnvOptions) => Promise<TestEnv> = createTestEnv,
): Promise<LiveServer> {
  const env = await makeEnv({ now: Date.now, ...options });
  const pool = createRenderPool({ threads: 1 });
  const runner = createJobRunner({ deps: env.deps, files: env.files, render: (request, renderOptions) => pool.render(request, renderOptions) });
  notifyOnCreate(env.deps.jobEvents, runner.notify);
  runner.start();
  const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger, renderPool: pool });
  const { baseUrl } = await listen(app);
  return {
    env,
    app,
    baseUrl,
    runner,
    pool,
    async close() {
      await app.close();
      await runner.stop(1_000);
      await pool.destroy();
      await env.cleanup();
    },
  };
}

/**
 * The HTTP app alone (no runner) on 127.0.0.1 and an ephemeral port, over a fresh database,
 * with the test environment's controllable clock unless told otherwise.
 */
export async function startApiServer(options?: TestEnvOptions): Promise<ApiServer>;
export async function startApiServer<E extends TestEnv>(options: TestEnvOptions, makeEnv: (options: TestEnvOptions) => Promise<E>): Promise<ApiServer<E>>;
export async function startApiServer(options: TestEnvOptions = {}, makeEnv: (options: TestEnvOptions) => Promise<TestEnv> = createTestEnv): Promise<ApiServer> {
  const env = await makeEnv(options);
  const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  const { port, baseUrl } = await listen(app);
  return {
    env,
    app,
    port,
    baseUrl,
    async close() {
      // Connections a test left open (half-sent requests) must not hold the close up.
      app.server.closeAllConnections();
      await app.close();
      await env.cleanup();
    },
  };
}
