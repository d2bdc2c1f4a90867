/**
 * 1. REST exportJobs.create throughput and p99 at 64 connections, API-only service vs a
 * bare Fastify route doing the same SQL with raw prepared statements (servers/baseline-rest.ts).
 */
import { join } from 'node:path';
import { DEMO_CONTENT } from '../../server/seed.js';
import { DEMO_TITLE } from '../documents.js';
import { entry, interleave, runLoad, startServer, type BenchContext, type Entry } from '../harness.js';
import { seedDatabase } from '../seed.js';
import { apiService, checkAndWarm, restCreate } from './shared.js';

export async function restCreateScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const baselineSeed = await seedDatabase(join(ctx.workDir, 'rest-baseline'), { [DEMO_TITLE]: DEMO_CONTENT });
  const [subject, baseline] = await Promise.all([
    apiService(ctx, 'rest-subject'),
    ctx.processes.acquire('rest-baseline', () =>
      startServer({ name: 'rest-baseline', script: 'bench/servers/baseline-rest.ts', ready: 'stdout', pinning: ctx.pinning, timeoutMs: settings.startTimeoutMs, env: { NOTEPAD_DB: baselineSeed.dbPath } }),
    ),
  ]);
  try {
    const load = { connections: settings.connections, seconds: settings.loadSeconds };
    const { seed, server, documentRid } = subject.value;
    const subjectLoad = { ...restCreate(server.url, seed.token, documentRid), ...load };
    const baselineLoad = { ...restCreate(baseline.value.url, baselineSeed.token, baselineSeed.documents[DEMO_TITLE]!), ...load };
    await checkAndWarm(ctx, subjectLoad);
    await checkAndWarm(ctx, baselineLoad);
    ctx.log(`rest-create: ${settings.rounds} rounds of ${settings.loadSeconds}s at ${settings.connections} connections`);
    const rounds = await interleave(settings.rounds, () => runLoad(subjectLoad), () => runLoad(baselineLoad));
    const details = { connections: settings.connections, seconds: settings.loadSeconds, role: 'api', requests: rounds.map((r) => [r.subject.ok, r.baseline.ok]) };
    return [
      entry({
        name: 'rest-create-throughput',
        title: `REST create throughput, ${settings.connections} connections (vs raw better-sqlite3 + Fastify)`,
        unit: 'req/s',
        subject: rounds.map((r) => r.subject.rps),
        baseline: rounds.map((r) => r.baseline.rps),
        target: { on: 'ratio', op: '>=', value: 0.85 },
        details,
      }),
      entry({
        name: 'rest-create-p99',
        title: `REST create p99 latency, ${settings.connections} connections (vs the same baseline)`,
        unit: 'ms',
        subject: rounds.map((r) => r.subject.p99),
        baseline: rounds.map((r) => r.baseline.p99),
        target: { on: 'ratio', op: '<=', value: 1.5 },
        details: { ...details, p50: rounds.map((r) => [r.subject.p50, r.baseline.p50]) },
      }),
    ];
  } finally {
    await Promise.all([subject.release(), baseline.release()]);
  }
}
