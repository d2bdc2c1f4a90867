/**
 * GET /metrics, in Prometheus' text format (prom-client), on a registry of its own per
 * process (injected, so that tests are isolated). What it counts:
 * - HTTP requests by route template, method and status, with their latency. Labels are never
 *   a raw URL, a RID, a token or anything else a caller chose: a request no route matched is
 *   route "unmatched", a method outside the usual ones "OTHER".
 * - Jobs created, succeeded, and failed by errorCode (job-events.ts); for exports, the time
 *   from create to claim, the render time and the pages (the figures of the runner's
 *   `export job succeeded` log line).
 * - On each scrape, read then: jobs waiting and running (from the database, so every process
 *   sharing it agrees), render workers busy, the database's and its WAL's size, and whether a
 *   store is full; and the process' own figures (collectDefaultMetrics).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Deps } from '../deps.js';
import type { JobEvent, JobKind } from '../job-events.js';
import type { QueueDepths } from '../stores/operating.js';
import type { RenderPool } from '../render/pool.js';
import type { StoreName } from '../storage-health.js';

export const METRICS_URL = '/metrics';

/** The route label of a request no route matched: one value, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RequestObservation {
  /** The route template the request matched (`/api/v2/notepad/exportJobs/:exportJobRid`), if any. */
  route: string | undefined;
  method: string;
  statusCode: number;
  seconds: number;
}

export interface MetricsOptions {
  deps: Deps;
  /** Default: a registry of its own. */
  registry?: Registry;
  /** This process' render pool, if it renders. */
  renderPool?: Pick<RenderPool, 'threads' | 'busy'>;
  /** The process' CPU, memory, event loop, … (collectDefaultMetrics). Default: on. */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  observeRequest(observation: RequestObservation): void;
  /** The text a scrape answers, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** Stops listening to job events. */
  stop(): void;
}

const KINDS: readonly JobKind[] = ['export', 'generation'];
const STORES: readonly StoreName[] = ['database', 'files'];

export function createMetrics({ deps, registry = new Registry(), renderPool, processMetrics = true }: MetricsOptions): Metrics {
  const registers = [registry];
  if (processMetrics) collectDefaultMetrics({ register: registry });

  const labels = ['route', 'method', 'status'] as const;
  const requests = new Counter({ name: 'notepad_http_requests_total', help: 'HTTP requests answered, by route template, method and status.', labelNames: labels, registers });
  const latency = new Histogram({
    name: 'notepad_http_request_duration_seconds',
    help: 'Time from a request arriving to its response being sent, by route template, method and status.',
    labelNames: labels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });

  const created = new Counter({ name: 'notepad_jobs_created_total', help: 'Jobs created, by kind (export, generation).', labelNames: ['kind'], registers });
  const succeeded = new Counter({ name: 'notepad_jobs_succeeded_total', help: 'Jobs that succeeded, by kind.', labelNames: ['kind'], registers });
  const failed = new Counter({
    name: 'notepad_jobs_failed_total',
    help: 'Jobs that failed, by kind and errorCode (TIMEOUT, CONTENT_TOO_LARGE, STORAGE_QUOTA_EXCEEDED, INTERNAL, CANCELLED; generation jobs have none: "none").',
    labelNames: ['kind', 'error_code'],
    registers,
  });
  for (const kind of KINDS) {
    created.inc({ kind }, 0);
    succeeded.inc({ kind }, 0);
  }
  const queued = new Histogram({
    name: 'notepad_export_queue_seconds',
    help: 'Time from creating an export job to its first claim by a runner (succeeded exports).',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers,
  });
  const rendered = new Histogram({
    name: 'notepad_export_render_seconds',
    help: 'Time rendering an export, waiting for a worker included (succeeded exports).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const pages = new Histogram({
    name: 'notepad_export_pages',
    help: 'Pages per export (succeeded exports).',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
    registers,
  });

  // The collects of one scrape run together (prom-client starts them all, then awaits them):
  // both queue gauges share one read of the database.
  let depthsRead: Promise<QueueDepths> | undefined;
  const queueDepths = () => (depthsRead ??= deps.stores.operating.queueDepth(deps.now()).finally(() => (depthsRead = undefined)));
  new Gauge({
    name: 'notepad_jobs_waiting',
    help: 'Unfinished jobs no runner holds, by kind (read from the database: every process sharing it).',
    labelNames: ['kind'],
    registers,
    async collect() {
      const depths = await queueDepths();
      for (const kind of KINDS) this.set({ kind }, depths[kind].waiting);
    },
  });
  new Gauge({
    name: 'notepad_jobs_running',
    help: 'Jobs a runner holds a live lease on, by kind (read from the database).',
    labelNames: ['kind'],
    registers,
    async collect() {
      const depths = await queueDepths();
      for (const kind of KINDS) this.set({ kind }, depths[kind].running);
    },
  });

  if (renderPool) {
    new Gauge({ name: 'notepad_render_workers', help: 'Render worker threads this process may run.', registers }).set(renderPool.threads);
    new Gauge({
      name: 'notepad_render_workers_busy',
      help: 'Render workers rendering now.',
      registers,
      collect() {
        this.set(renderPool.busy);
      },
    });
  }

  new Gauge({
    name: 'notepad_db_bytes',
    help: 'Size of the database file (SQLite; 0 where the backend has none).',
    registers,
    async collect() {
      this.set((await deps.stores.operating.sizes()).databaseBytes);
    },
  });
  new Gauge({
    name: 'notepad_db_wal_bytes',
    help: "Size of the database's write-ahead log (SQLite, kept small by the checkpointer; 0 where the backend has none).",
    registers,
    async collect() {
      this.set((await deps.stores.operating.sizes()).walBytes);
    },
  });
  new Gauge({
    name: 'notepad_storage_full',
    help: '1 while a store (database, files) cannot take new work (new work is refused with StorageFull), else 0.',
    labelNames: ['store'],
    registers,
    collect() {
      const full = new Set(deps.storage.problems().map((p) => p.store));
      for (const store of STORES) this.set({ store }, full.has(store) ? 1 : 0);
    },
  });

  const onJobEvent = (event: JobEvent) => {
    const kind = event.kind;
    if (event.type === 'created') created.inc({ kind });
    else if (event.type === 'failed') failed.inc({ kind, error_code: event.kind === 'export' ? event.errorCode : 'none' });
    else if (event.type === 'succeeded') {
      succeeded.inc({ kind });
      if (event.kind === 'export') {
        queued.observe(event.figures.queuedMs / 1000);
        rendered.observe(event.figures.renderMs / 1000);
        pages.observe(event.figures.pages);
      }
    }
  };
  const unsubscribe = deps.jobEvents.subscribe(onJobEvent);

  return {
    registry,
    observeRequest({ route, method, statusCode, seconds }) {
      const values = { route: route ?? UNMATCHED_ROUTE, method: METHODS.has(method) ? method : 'OTHER', status: String(statusCode) };
      requests.inc(values);
      latency.observe(values, seconds);
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    stop: unsubscribe,
  };
}
