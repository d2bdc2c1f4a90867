import { pino } from 'pino';
import { buildApp } from './app.js';
import { configFromEnv, redactUrl } from './config.js';
import { createDeps } from './deps.js';
import { notifyOnCreate } from './job-events.js';
import { createJobRunner, type JobRunner } from './jobs/runner.js';
import { createRenderPool, type RenderPool } from './render/pool.js';
import { seedDemoIfEmpty, type DemoSeed } from './seed.js';
import { startRunnerSummary, type Summary } from './operating/summary.js';
import { createStorageHealth, databaseDir } from './storage-health.js';
import { openBackend, openFiles } from './stores/open.js';

function instructions(base: string, seed: DemoSeed): string {
  return `
notepad-export is running at ${base}
Demo user token (shown once; only its hash is stored). It can export and generate for
the demo user for 24 hours, and cannot administer anything (make an admin token with the CLI):
  export TOKEN=${seed.token}

1. Create an export job of the demo document:
  curl -s -X POST "${base}/api/v2/notepad/exportJobs/create?preview=true" -H "Authorization: Bearer $TOKEN" \\
    -H "Content-Type: application/json" \\
    -d '{"exportJobSource":{"type":"documentSource","documentRid":"${seed.documentRid}"},"exportJobTarget":{"type":"pdf","userLocale":"en-US","userTimezone":"America/New_York"}}'
2. Poll it until status.type is "succeeded" (use the rid from step 1):
  curl -s "${base}/api/v2/notepad/exportJobs/<exportJobRid>?preview=true" -H "Authorization: Bearer $TOKEN"
3. Download the PDF (use status.fileRid from step 2):
  curl -s -o report.pdf "${base}/api/v2/notepad/files/<fileRid>/content?preview=true" -H "Authorization: Bearer $TOKEN"
`;
}

async function main(): Promise<void> {
  const config = configFromEnv();
  const logger = pino({ level: config.logLevel });
  const backend = await openBackend(config.database, logger);
  const maintenance = backend.startMaintenance(logger);
  // Free space is probed where it is ours to watch: a SQLite file's folder, a files directory.
  const storage = createStorageHealth({
    now: Date.now,
    dirs: {
      ...(config.database.kind === 'sqlite' ? { database: databaseDir(config.database.path) } : {}),
      ...(config.files.kind === 'local' ? { files: config.files.dir } : {}),
    },
    minFreeBytes: config.minFreeBytes,
  });
  const deps = createDeps({ stores: backend.stores, config, logger, storage, exportJobChangeHints: backend.coordination?.listenForExportJobChanges });
  const files = await openFiles(config.files);
  await storage.start();
  // Only a process that serves the API seeds (it prints how to use the seed); of API nodes
  // starting together on an empty database, one does (seed.ts claims the first user).
  const seed = config.role === 'runner' ? undefined : await seedDemoIfEmpty(deps);

  let pool: RenderPool | undefined;
  let runner: JobRunner | undefined;
  let runnerSummary: Summary | undefined;
  let jobListener: { close(): Promise<void> } | undefined;
  if (config.role !== 'api') {
    pool = createRenderPool({ threads: config.jobs.concurrency, expressThreads: config.jobs.expressSlots });
    const renderPool = pool;
    runner = createJobRunner({ deps, files, render: (request, options) => renderPool.render(request, options), coordination: backend.coordination });
    notifyOnCreate(deps.jobEvents, runner.notify);
    // Jobs created by other processes (PostgreSQL's NOTIFY): claim at once, not at the next scan.
    jobListener = backend.coordination?.listenForJobs(runner.notify, (error) => logger.warn({ err: error }, 'job wake-up listener lost its connection; reconnecting'));
    const swept = await runner.sweepTurn();
    logger.info(swept, 'startup sweep done');
    runner.start();
    runnerSummary = startRunnerSummary({ deps, log: logger, intervalMs: config.summaryIntervalMs, now: Date.now });
  }

  const app = config.role === 'runner' ? undefined : await buildApp({ deps, files, logger, renderPool: pool });
  if (app) await app.listen({ host: config.host, port: config.port });
  // Without a listening server nothing holds the event loop open (the runner's own timers
  // are unref'd, so that an embedded runner never keeps its host alive): a runner-only
  // process holds itself open until a signal stops it.
  const keepAlive = app ? undefined : setInterval(() => {}, 2 ** 30);

  const db = config.database.kind === 'sqlite' ? config.database.path : redactUrl(config.database.url);
  // runner: the lease_owner this process writes on the jobs it claims, so an operator (or a
  // test) can tell from the database which process holds which job.
  logger.info(
    { role: config.role, db, files: files.location, concurrency: config.jobs.concurrency, expressSlots: config.jobs.expressSlots, runner: runner?.owner },
    'notepad-export started',
  );
  if (app && seed) {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    process.stdout.write(instructions(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, seed));
  } else if (app) {
    logger.info('database already seeded; create a token with: npm run -s notepad -- tokens create --user <id> --scopes api:notepad-export');
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.jobs.shutdownGraceMs + 5_000).unref();
    try {
      clearInterval(keepAlive);
      await app?.close();
      await jobListener?.close();
      await runner?.stop();
      runnerSummary?.stop();
      await pool?.destroy();
      await maintenance.stop();
      storage.stop();
      await backend.close();
    } finally {
      clearTimeout(force);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`notepad-export failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
