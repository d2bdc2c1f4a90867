/**
 * 2. exportJobs.create through tRPC's HTTP wire format (what the typed client's httpLink
 * sends: POST /trpc/notepad.exportJobs.create, the input as the JSON body), API-only
 * service vs a stock tRPC Fastify server with a trivial mutation (servers/baseline-trpc.ts).
 */
import { createNotepadClient } from '../../client/index.js';
import { entry, interleave, runLoad, startServer, type BenchContext, type Entry, type LoadOptions } from '../harness.js';
import { apiService, checkAndWarm, createBody } from './shared.js';

const PATH = '/trpc/notepad.exportJobs.create';

const isRunning = (body: unknown) => (body as { result?: { data?: { status?: { type?: string } } } }).result?.data?.status?.type === 'running';

export async function trpcCreateScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const [subject, baseline] = await Promise.all([
    apiService(ctx, 'trpc-subject'),
    ctx.processes.acquire('trpc-baseline', () => startServer({ name: 'trpc-baseline', script: 'bench/servers/baseline-trpc.ts', ready: 'stdout', pinning: ctx.pinning, timeoutMs: ctx.settings.startTimeoutMs })),
  ]);
  try {
    const { seed, server, documentRid } = subject.value;
    // The wire format is the typed client's: prove it once with the client itself.
    const client = createNotepadClient({ url: server.url, token: seed.token });
    const job = await client.notepad.exportJobs.create.mutate({
      exportJobSource: { type: 'documentSource', documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' },
    });
    if (job.status.type !== 'running') throw new Error(`typed client create returned ${JSON.stringify(job)}`);

    const request = (url: string): LoadOptions => ({
      url: `${url}${PATH}`,
      method: 'POST',
      headers: { authorization: `Bearer ${seed.token}`, 'content-type': 'application/json' },
      body: createBody(documentRid),
      connections: settings.connections,
      seconds: settings.loadSeconds,
    });
    const subjectLoad = request(server.url);
    const baselineLoad = request(baseline.value.url);
    await checkAndWarm(ctx, subjectLoad, isRunning);
    await checkAndWarm(ctx, baselineLoad, isRunning);
    ctx.log(`trpc-create: ${settings.rounds} rounds of ${settings.loadSeconds}s at ${settings.connections} connections`);
    const rounds = await interleave(settings.rounds, () => runLoad(subjectLoad), () => runLoad(baselineLoad));
    return [
      entry({
        name: 'trpc-create-throughput',
        title: `tRPC create throughput, httpLink wire format, ${settings.connections} connections (vs stock tRPC adapter, trivial procedure)`,
        unit: 'req/s',
        subject: rounds.map((r) => r.subject.rps),
        baseline: rounds.map((r) => r.baseline.rps),
        target: { on: 'ratio', op: '>=', value: 0.7 },
        details: { connections: settings.connections, seconds: settings.loadSeconds, path: PATH, p99: rounds.map((r) => [r.subject.p99, r.baseline.p99]) },
      }),
    ];
  } finally {
    await Promise.all([subject.release(), baseline.release()]);
  }
}
