/**
 * The processes scenarios measure: the service started from server/main.ts as `npm start`
 * would be, on a freshly seeded database, and the render child; plus the create request.
 * Each comes through ctx.processes, so short runs can share them between scenarios.
 */
import { join } from 'node:path';
import { DEMO_CONTENT } from '../../server/seed.js';
import { RENDER_NICENESS, RENDER_WORKER_LIMITS } from '../../server/render/pool.js';
import { DEMO_TITLE, mixedDocument } from '../documents.js';
import { runLoad, startServer, startWorker, type BenchContext, type Lease, type LoadOptions, type ServerHandle, type WorkerHandle } from '../harness.js';
import { seedContentlessGenerationJob, seedDatabase, seedExportJobs, seedOtherUser, type Seed } from '../seed.js';

export interface Service {
  seed: Seed;
  server: ServerHandle;
  /** The demo document (server/seed.ts DEMO_CONTENT), exportable by seed.token. */
  documentRid: string;
  /** fullService only: a source whose exports the runner fails at once (seedContentlessGenerationJob). */
  probeSource?: GenerationSource;
  stop(): Promise<void>;
}

export interface GenerationSource {
  templateRid: string;
  generationJobRid: string;
}

/** Pages per section of bench/documents.ts mixedDocument (measured: 1999 pages from 2560). */
export const PAGES_PER_SECTION = 0.781;
export const sectionsFor = (pages: number): number => Math.max(1, Math.round(pages / PAGES_PER_SECTION));

export const RENDER_THREADS = 2;

/**
 * An API-only server runs no jobs, so every create it answers stays a running job of the
 * one bench user: tens of thousands a run, far past the per-user quota on active exports.
 * The quota check reads one row whatever the count (server/quotas.ts), so lifting the
 * limit keeps its cost in the figures and only spares the bench its 429s.
 */
const UNLIMITED_ACTIVE_EXPORTS = { NOTEPAD_MAX_ACTIVE_EXPORTS_PER_USER: String(Number.MAX_SAFE_INTEGER) };

export function startNotepad(ctx: BenchContext, name: string, seed: Seed, role: 'api' | 'all', env: Record<string, string> = {}): Promise<ServerHandle> {
  return startServer({
    name,
    script: 'server/main.ts',
    ready: 'health',
    pinning: ctx.pinning,
    timeoutMs: ctx.settings.startTimeoutMs,
    cpuProfDir: ctx.profileDir ? join(ctx.profileDir, name) : undefined,
    // The load generator drives one token at thousands of requests a second, far past the
    // per-token rate limit, and fails a run on any 429: benchmarks run with the limit off.
    env: {
      NOTEPAD_DB: seed.dbPath,
      NOTEPAD_FILES: seed.filesDir,
      NOTEPAD_ROLE: role,
      LOG_LEVEL: 'warn',
      NOTEPAD_RATE_LIMIT: 'off',
      ...(role === 'api' ? UNLIMITED_ACTIVE_EXPORTS : {}),
      ...env,
    },
  });
}

/**
 * The API-only service (no runner, no render pool), optionally over `existingJobs` finished
 * export jobs; `fresh` for a table nobody else has written to.
 */
export function apiService(ctx: BenchContext, name: string, options: { existingJobs?: number; fresh?: boolean } = {}): Promise<Lease<Service>> {
  const existingJobs = options.existingJobs ?? 0;
  const key = existingJobs > 0 ? 'notepad-api-jobs' : 'notepad-api';
  return ctx.processes.acquire(key, async () => {
    const seed = await seedDatabase(join(ctx.workDir, name), { [DEMO_TITLE]: DEMO_CONTENT });
    const documentRid = seed.documents[DEMO_TITLE]!;
    if (existingJobs > 0) {
      const start = performance.now();
      seedExportJobs(seed, documentRid, existingJobs);
      ctx.log(`${name}: seeded ${existingJobs.toLocaleString('en-US')} export jobs in ${Math.round(performance.now() - start)} ms`);
    }
    const server = await startNotepad(ctx, name, seed, 'api');
    return { seed, server, documentRid, stop: () => server.stop() };
  }, { fresh: options.fresh ?? false });
}

/**
 * The whole service (API, runner, render pool of RENDER_THREADS) with the demo document
 * and the isolation scenario's: the large document, a tenth of it, and the probe source.
 */
export function fullService(ctx: BenchContext, name: string): Promise<Lease<Service>> {
  return ctx.processes.acquire('notepad-all', async () => {
    const large = sectionsFor(ctx.settings.isolationPages);
    const seed = await seedDatabase(join(ctx.workDir, name), {
      [DEMO_TITLE]: DEMO_CONTENT,
      large: mixedDocument(large),
      warm: mixedDocument(Math.max(1, Math.round(large / 10))),
    });
    const probeSource = await seedContentlessGenerationJob(seed);
    const server = await startNotepad(ctx, name, seed, 'all', {
      NOTEPAD_JOB_CONCURRENCY: String(RENDER_THREADS),
      // Four large renders sharing one core take a while; they must not time out.
      NOTEPAD_JOB_DEADLINE_MS: '900000',
      // The idle-listeners scenario holds 500 event streams from the load generator's one address.
      NOTEPAD_MAX_CONNECTIONS_PER_CLIENT: '0',
    });
    return { seed, server, documentRid: seed.documents[DEMO_TITLE]!, probeSource, stop: () => server.stop() };
  });
}

/**
 * One bulk render slot for the one core the service is pinned to (two would have every render
 * of the measured user share the core evenly with one of the flood's). The service's default
 * express slot (NOTEPAD_EXPRESS_SLOTS=1) stays on: it is what lets the measured user's export
 * start beside a flood render, at a higher CPU priority (render/pool.ts RENDER_NICENESS).
 */
export const FAIRNESS_RENDER_THREADS = 1;

/** The fairness scenario's service: the seed's user exports the demo document; the flooder, a large one. */
export interface FairnessService extends Service {
  flooder: { userId: string; token: string; documentRid: string };
}

/**
 * The whole service (API, runner, FAIRNESS_RENDER_THREADS render threads) with two users: the
 * seed's user, who exports the demo document, and a flooder, who exports a
 * `floodPages`-page document.
 */
export function fairnessService(ctx: BenchContext, name: string): Promise<Lease<FairnessService>> {
  return ctx.processes.acquire('notepad-fairness', async () => {
    const seed = await seedDatabase(join(ctx.workDir, name), { [DEMO_TITLE]: DEMO_CONTENT });
    const flooder = await seedOtherUser(seed, 'Flooder', { flood: mixedDocument(sectionsFor(ctx.settings.floodPages)) });
    const server = await startNotepad(ctx, name, seed, 'all', {
      NOTEPAD_JOB_CONCURRENCY: String(FAIRNESS_RENDER_THREADS),
      NOTEPAD_JOB_DEADLINE_MS: '900000',
    });
    return {
      seed,
      server,
      documentRid: seed.documents[DEMO_TITLE]!,
      flooder: { userId: flooder.userId, token: flooder.token, documentRid: flooder.documents.flood! },
      stop: () => server.stop(),
    };
  });
}

/**
 * The heap limits server/render/pool.ts gives each render worker, as node flags for a
 * render child process. V8 sizes its collections by them, so a child on the defaults (a
 * quarter of RAM, up to 4 GB) would let its heap, and so its RSS, grow far more than a
 * real render worker's. V8's young generation is three semi-spaces.
 */
export const RENDER_WORKER_NODE_ARGS = [
  `--max-old-space-size=${RENDER_WORKER_LIMITS.maxOldGenerationSizeMb}`,
  `--max-semi-space-size=${RENDER_WORKER_LIMITS.maxYoungGenerationSizeMb / 3}`,
];

/** bench/render-child.ts; `fresh` when the scenario measures its peak RSS. */
export function renderChild(ctx: BenchContext, name: string, options: { fresh?: boolean } = {}): Promise<Lease<WorkerHandle>> {
  return ctx.processes.acquire(
    'render-child',
    async () =>
    startWorker({
      name,
      script: 'bench/render-child.ts',
      pinning: ctx.pinning,
      extraNodeArgs: RENDER_WORKER_NODE_ARGS,
      // The service renders in threads at this niceness (below its API): the renders it is
      // compared with run at the same priority, or other processes on the machine would
      // slow only the service's.
      niceness: RENDER_NICENESS.bulk,
      cpuProfDir: ctx.profileDir ? join(ctx.profileDir, name) : undefined,
    }),
    { fresh: options.fresh ?? false },
  );
}

/** The create body, exactly as the issue gives it; a string source is a documentRid. */
export function createBody(source: string | GenerationSource): string {
  return JSON.stringify({
    exportJobSource: typeof source === 'string' ? { type: 'documentSource', documentRid: source } : { type: 'generationJobSource', ...source },
    exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' },
  });
}

/** REST exportJobs.create, as autocannon options (connections and duration to add). */
export function restCreate(baseUrl: string, token: string, source: string | GenerationSource): Pick<LoadOptions, 'url' | 'method' | 'headers' | 'body'> {
  return {
    url: `${baseUrl}/api/v2/notepad/exportJobs/create?preview=true`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: createBody(source),
  };
}

/** One request, checked: a scenario must time the success path, never an error. */
export async function expectJson(url: string, init: RequestInit, check: (body: unknown) => boolean): Promise<unknown> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!response.ok || !check(body)) throw new Error(`${init.method ?? 'GET'} ${url} -> ${response.status} ${text.slice(0, 300)}`);
  return body;
}

export const isRunningJob = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { status?: { type?: unknown } }).status?.type === 'running';

/** Checks the request once, then warms the server up with it (JIT, SQLite page cache). */
export async function checkAndWarm(ctx: BenchContext, request: LoadOptions, check: (body: unknown) => boolean = isRunningJob): Promise<void> {
  await expectJson(request.url, { method: request.method ?? 'GET', headers: request.headers ?? {}, ...(request.body ? { body: request.body } : {}) }, check);
  if (ctx.settings.warmup) await runLoad({ ...request, seconds: ctx.settings.warmupSeconds });
}
