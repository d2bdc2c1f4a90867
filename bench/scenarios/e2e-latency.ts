/**
 * 4. End-to-end latency of one export at a time (create, poll until succeeded, download
 * the bytes) of the demo document against the whole service (role all), vs the time
 * renderPdf alone takes for the same document and target in a warm process.
 */
import Database from 'better-sqlite3';
import { cpuSpent, entry, interleave, median, readCpu, sleep, type BenchContext, type Entry } from '../harness.js';
import type { RenderTiming } from '../render-child.js';
import { createBody, fullService, renderChild, type Service } from './shared.js';

// Short enough that polling adds little to a render of tens of ms.
const POLL_MS = 5;

export interface Export {
  rid: string;
  ms: number;
  bytes: number;
  polls: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** One export of the service's demo document by its seed user: create, poll until it ends, download. */
export async function exportOnce({ server, seed, documentRid }: Service): Promise<Export> {
  const headers = { authorization: `Bearer ${seed.token}` };
  const start = performance.now();
  const created = await fetch(`${server.url}/api/v2/notepad/exportJobs/create?preview=true`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: createBody(documentRid),
  });
  let job = (await created.json()) as { rid: string; status: { type: string; fileRid?: string } };
  if (!created.ok) throw new Error(`create -> ${created.status} ${JSON.stringify(job)}`);
  let polls = 0;
  while (job.status.type === 'running') {
    await sleep(POLL_MS);
    polls++;
    const response = await fetch(`${server.url}/api/v2/notepad/exportJobs/${job.rid}?preview=true`, { headers });
    job = (await response.json()) as typeof job;
  }
  if (job.status.type !== 'succeeded' || !job.status.fileRid) throw new Error(`export ended ${JSON.stringify(job.status)}`);
  const file = await fetch(`${server.url}/api/v2/notepad/files/${job.status.fileRid}/content?preview=true`, { headers });
  const bytes = (await file.arrayBuffer()).byteLength;
  if (!file.ok || bytes === 0) throw new Error(`download -> ${file.status}`);
  return { rid: job.rid, ms: performance.now() - start, bytes, polls };
}

export async function e2eLatencyScenario(ctx: BenchContext): Promise<Entry[]> {
  const { settings } = ctx;
  const [service, child] = await Promise.all([fullService(ctx, 'e2e-subject'), renderChild(ctx, 'e2e-render-child')]);
  // Where the time goes: created_at to finished_at is the service's own part (claim, render,
  // file write, commit); the rest is polling, HTTP and the download.
  const db = new Database(service.value.seed.dbPath, { readonly: true, fileMustExist: true });
  const jobMs = db.prepare<[string], { ms: number }>('SELECT finished_at - created_at AS ms FROM export_jobs WHERE rid = ?');
  try {
    const n = settings.e2eExports;
    const polls: number[] = [];
    const serviceMs: number[] = [];
    // CPU time per export (per render), from each round's per-thread CPU: where the
    // difference between subject and baseline goes (bench/README.md, end-to-end latency).
    const serviceCpu: number[] = [];
    const eventLoopCpu: number[] = [];
    const childCpu: number[] = [];
    const perItem = (spent: ReturnType<typeof cpuSpent>, into: number[], main?: number[]) => {
      if (!spent) return;
      into.push(spent.totalMs / n);
      main?.push(spent.mainMs / n);
    };
    let pdfBytes = 0;
    // Each round's figure is the median of n sequential exports (or renders).
    const exports = async () => {
      const ms: number[] = [];
      const before = readCpu(service.value.server.pid);
      for (let i = 0; i < n; i++) {
        const run = await exportOnce(service.value);
        ms.push(run.ms);
        polls.push(run.polls);
        serviceMs.push(jobMs.get(run.rid)?.ms ?? NaN);
        pdfBytes = run.bytes;
      }
      perItem(cpuSpent(before, readCpu(service.value.server.pid)), serviceCpu, eventLoopCpu);
      return median(ms);
    };
    const renders = async () => {
      const ms: number[] = [];
      const before = readCpu(child.value.pid);
      for (let i = 0; i < n; i++) ms.push((await child.value.request<RenderTiming>({ op: 'renderDemo' })).ms);
      perItem(cpuSpent(before, readCpu(child.value.pid)), childCpu);
      return median(ms);
    };
    // Warm-up: the render threads' first renders load fonts and compile; so does the child.
    for (let i = 0; settings.warmup && i < settings.warmupExports; i++) {
      await exportOnce(service.value);
      await child.value.request<RenderTiming>({ op: 'renderDemo' });
    }
    ctx.log(`e2e-latency: ${settings.rounds} rounds of ${n} sequential exports`);
    const rounds = await interleave(settings.rounds, exports, renders);
    return [
      entry({
        name: 'e2e-latency',
        title: 'End-to-end export latency, demo document, one at a time (vs renderPdf alone)',
        unit: 'ms',
        subject: rounds.map((r) => r.subject),
        baseline: rounds.map((r) => r.baseline),
        target: { on: 'ratio', op: '<=', value: 1.5 },
        details: {
          exportsPerRound: n,
          pollMs: POLL_MS,
          role: 'all',
          pdfBytes,
          medianPolls: median(polls),
          medianCreatedToFinishedMs: median(serviceMs),
          ...(serviceCpu.length > 0 ? { serviceCpuMsPerExport: round1(median(serviceCpu)), serviceEventLoopCpuMsPerExport: round1(median(eventLoopCpu)) } : {}),
          ...(childCpu.length > 0 ? { renderChildCpuMsPerRender: round1(median(childCpu)) } : {}),
        },
      }),
    ];
  } finally {
    db.close();
    await Promise.all([service.release(), child.release()]);
  }
}
