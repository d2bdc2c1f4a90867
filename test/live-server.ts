import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { createRenderPool, type RenderPool } from '../server/render/pool.js';
import { createTestEnv, type TestEnv } from './helpers.js';

export interface LiveServer {
  env: TestEnv;
  app: FastifyInstance;
  baseUrl: string;
  runner: JobRunner;
  pool: RenderPool;
  close(): Promise<void>;
}

/** The whole service on 127.0.0.1 and an ephemeral port, rendering in a real worker pool. */
export async function startLiveServer(): Promise<LiveServer> {
  const env = await createTestEnv({ now: Date.now });
  const pool = createRenderPool({ threads: 1 });
  const runner = createJobRunner({ deps: env.deps, files: env.files, render: (request, options) => pool.render(request, options) });
  env.deps.onJobCreated = runner.notify;
  runner.start();
  const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('server has no address');
  return {
    env,
    app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    runner,
    pool,
    async close() {
      await app.close();
      await runner.stop(1_000);
      await pool.destroy();
      env.cleanup();
    },
  };
}
