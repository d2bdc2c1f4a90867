import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExportJobStatus } from '../server/contract/api.js';
import { NotepadError } from '../server/contract/errors.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { leasesOf } from '../server/deps.js';
import { claimNext } from '../server/jobs/lease.js';
import { notifyOnCreate } from '../server/job-events.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { createRenderPool } from '../server/render/pool.js';
import { ContentTooLargeError, renderPdf } from '../server/render/render-pdf.js';
import type { Principal } from '../server/services/auth.js';
import { authenticate } from '../server/services/auth.js';
import { createExportJob, getExportJob } from '../server/services/export-jobs.js';
import { getFile } from '../server/services/files.js';
import type { FileStore } from '../server/files/store.js';
import { createTestEnv, seedDocument, seedGenerationJob, seedTemplate, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let principal: Principal;
let documentRid: string;
const runners: JobRunner[] = [];

const inProcess: Renderer = (request) => renderPdf(request);
const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;

function runner(render: Renderer = inProcess, owner?: string): JobRunner {
  const r = createJobRunner({ deps: env.deps, files: env.files, render, coordination: env.coordination, ...(owner ? { owner } : {}) });
  runners.push(r);
  return r;
}

async function create(): Promise<string> {
  return (await createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target })).rid;
}

const statusOf = async (rid: string): Promise<ExportJobStatus> => (await getExportJob(env.deps, principal, rid)).status;
const fileRows = () => env.rows.files();
/** Every key the file store holds; a write not yet in place (a local temp file) says so. */
const storedBytes = async () => (await env.files.list()).map(({ storageKey, temp }) => (temp ? `(temp) ${storageKey}` : storageKey));

/** A renderer that waits until released, honouring the abort signal like the real pool. */
function gatedRenderer() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => {
    started = resolve;
  });
  const render: Renderer = async (request, { signal }) => {
    started();
    await new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      void gate.then(resolve);
    });
    return renderPdf(request);
  };
  return { render, release, started: startedPromise };
}

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: 1_000, deadlineMs: 20_000, concurrency: 2 } } });
  const user = await seedUser(env.deps);
  principal = await authenticate(env.deps, `Bearer ${user.token}`);
  documentRid = await seedDocument(env.deps, user.userId);
});

afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop(0);
  await env.cleanup();
});

describe('job runner', () => {
  it('renders a created job into exactly one stored file', async () => {
    const rid = await create();
    await runner().drain();
    const status = await statusOf(rid);
    expect(status.type).toBe('succeeded');
    if (status.type !== 'succeeded') return;
    const file = await getFile(env.deps, principal, status.fileRid);
    expect(file).toMatchObject({ exportJobRid: rid, mediaType: 'application/pdf', filename: 'Quarterly report.pdf' });
    const stream = await env.files.open(file.storageKey);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.length).toBe(file.sizeBytes);
    expect(await fileRows()).toHaveLength(1);
    expect(await storedBytes()).toHaveLength(1);
  });

  it("logs where a finished export's time went, every figure from the one injected clock", async () => {
    const rid = await create();
    env.clock.advance(250); // claimed a quarter of a second after it was created
    const slowRender: Renderer = async (request) => {
      const result = await renderPdf(request);
      env.clock.advance(400); // the render takes 400 ms of the service's clock
      return result;
    };
    const slowStore: FileStore = {
      ...env.files,
      async write(key, bytes) {
        const stored = await env.files.write(key, bytes);
        env.clock.advance(30); // and storing the bytes 30 ms
        return stored;
      },
    };
    const r = createJobRunner({ deps: env.deps, files: slowStore, render: slowRender });
    runners.push(r);
    await r.drain();
    const line = env.logLines().find((l) => l.msg === 'export job succeeded' && l.exportJobRid === rid);
    // A figure taken from another clock (performance.now, Date.now) would not be these.
    expect(line).toMatchObject({ queuedMs: 250, renderMs: 400, storeMs: 30, totalMs: 680 });
  });

  it('logs the code points no bundled font covers, with the job', async () => {
    documentRid = await seedDocument(env.deps, principal.userId, { title: 'Linear B', content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'x \u{10000} y' }] }] } });
    const rid = await create();
    await runner().drain();
    expect((await statusOf(rid)).type).toBe('succeeded');
    const line = env.logLines().find((l) => l.msg === 'characters not covered by any bundled font');
    expect(line).toMatchObject({ exportJobRid: rid, codePoints: ['U+10000'] });
  });

  it('counts the boxes drawn for uncovered characters in the finished-export line, as the render worker reports them', async () => {
    // Three Linear B syllables (two of them the same) and a Yi one: four boxes, whatever repeats.
    const text = 'a \u{10000} b \u{10001} c \u{10000} d ꀀ';
    documentRid = await seedDocument(env.deps, principal.userId, { title: 'Boxes', content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text }] }] } });
    const rid = await create();
    const pool = createRenderPool({ threads: 1 });
    try {
      await runner((request, options) => pool.render(request, options)).drain();
    } finally {
      await pool.destroy();
    }
    expect((await statusOf(rid)).type).toBe('succeeded');
    expect(env.logLines().find((l) => l.msg === 'export job succeeded' && l.exportJobRid === rid)).toMatchObject({ missingGlyphs: 4 });
  });

  it('reports no boxes when every character has a font', async () => {
    documentRid = await seedDocument(env.deps, principal.userId, { title: 'Covered', content: { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'שלום مرحبا नमस्ते สวัสดี 😀' }] }] } });
    const rid = await create();
    await runner().drain();
    expect(env.logLines().find((l) => l.msg === 'export job succeeded' && l.exportJobRid === rid)).toMatchObject({ missingGlyphs: 0 });
  });

  it('starts a job as soon as it is created, without waiting for a scan', async () => {
    const r = runner();
    notifyOnCreate(env.deps.jobEvents, r.notify);
    env.deps.config.jobs.scanIntervalMs = 3_600_000;
    r.start();
    const rid = await create();
    await r.drain();
    expect((await statusOf(rid)).type).toBe('succeeded');
  });

  it('finishes the job of a runner that died holding it, with one file', async () => {
    const rid = await create();
    const claimed = await claimNext(leasesOf(env.deps), 'export', 'runner-that-died');
    expect(claimed?.rid).toBe(rid);
    // Its lease is live: nobody else may take the job yet.
    await runner().drain();
    expect((await statusOf(rid)).type).toBe('running');
    env.clock.advance(1_001);
    await runner().drain();
    expect((await statusOf(rid)).type).toBe('succeeded');
    expect(await fileRows()).toHaveLength(1);
    const row = await env.rows.exportJob(rid);
    expect(row?.attempts).toBe(2);
    expect(row?.startedAt).toBe(env.clock.now - 1_001); // the first attempt's start, kept across attempts
  });

  it('a runner that lost its lease mid-render discards its result: still one file', async () => {
    const rid = await create();
    const slow = gatedRenderer();
    const first = runner(slow.render, 'slow-runner');
    const firstDone = first.drain();
    await slow.started;
    env.clock.advance(1_001); // the slow runner's lease runs out before it finishes
    await runner().drain();
    expect((await statusOf(rid)).type).toBe('succeeded');
    slow.release();
    await firstDone;
    expect(await fileRows()).toHaveLength(1);
    expect(await storedBytes()).toEqual([(await fileRows())[0]!.storageKey]);
  });

  it('a runner that claims its own lapsed job again stops the stale attempt and runs the new one', async () => {
    const rid = await create();
    let firstSignal: AbortSignal | undefined;
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const render: Renderer = async (request, { signal }) => {
      if (!firstSignal) {
        firstSignal = signal;
        started();
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      }
      return renderPdf(request);
    };
    const r = runner(render, 'forgetful');
    const firstDrain = r.drain();
    await firstStarted;
    env.clock.advance(1_001); // its renewal came too late: the lease lapsed
    await r.drain(); // the same runner claims the job again
    await firstDrain;
    expect(firstSignal?.aborted).toBe(true);
    expect((await statusOf(rid)).type).toBe('succeeded');
    expect((await env.rows.exportJob(rid))?.attempts).toBe(2);
    expect(await fileRows()).toHaveLength(1);
    expect(await storedBytes()).toEqual([(await fileRows())[0]!.storageKey]);
  });

  it('ends a job past its deadline as failed TIMEOUT, logged under the same errorInstanceId', async () => {
    env.deps.config.jobs.deadlineMs = 50;
    const rid = await create();
    await runner(gatedRenderer().render).drain();
    const status = await statusOf(rid);
    expect(status).toMatchObject({ type: 'failed', errorCode: 'TIMEOUT' });
    if (status.type !== 'failed') return;
    expect(status.errorMessage).toMatch(/did not finish within 50 ms/);
    expect(env.logLines().some((line) => line.errorInstanceId === status.errorInstanceId && line.errorCode === 'TIMEOUT')).toBe(true);
    expect(await fileRows()).toHaveLength(0);
  });

  it('ends content over the page limit as failed CONTENT_TOO_LARGE', async () => {
    env.deps.config.jobs.maxPages = 1;
    const blocks = Array.from({ length: 200 }, (_, i) => ({ type: 'paragraph' as const, content: [{ type: 'text' as const, text: `Paragraph ${i}` }] }));
    documentRid = await seedDocument(env.deps, principal.userId, { title: 'Long', content: { blocks } });
    const rid = await create();
    await runner().drain();
    expect(await statusOf(rid)).toMatchObject({ type: 'failed', errorCode: 'CONTENT_TOO_LARGE' });
  });

  it('ends any other fault as failed INTERNAL with its stack in the log', async () => {
    const rid = await create();
    await runner(async () => {
      throw new Error('renderer exploded');
    }).drain();
    const status = await statusOf(rid);
    expect(status).toMatchObject({ type: 'failed', errorCode: 'INTERNAL' });
    if (status.type !== 'failed') return;
    expect(status.errorMessage).not.toMatch(/exploded/); // internals stay in the log
    const line = env.logLines().find((l) => l.errorInstanceId === status.errorInstanceId);
    expect(JSON.stringify(line?.err)).toMatch(/renderer exploded/);
  });

  it('recognises a ContentTooLargeError raised by any renderer', async () => {
    const rid = await create();
    await runner(async () => {
      throw new ContentTooLargeError('bytes', 10);
    }).drain();
    expect(await statusOf(rid)).toMatchObject({ type: 'failed', errorCode: 'CONTENT_TOO_LARGE' });
  });

  it('gives up on a job that killed every runner that took it', async () => {
    const rid = await create();
    await env.rows.set('exportJobs', rid, { attempts: env.deps.config.jobs.maxAttempts });
    await runner().drain();
    expect(await statusOf(rid)).toMatchObject({ type: 'failed', errorCode: 'INTERNAL' });
  });

  it('graceful stop gives in-flight jobs back, and the next runner finishes them', async () => {
    const rid = await create();
    const slow = gatedRenderer();
    const first = runner(slow.render);
    first.start();
    await slow.started;
    await first.stop(10);
    const row = await env.rows.exportJob(rid);
    expect(row).toMatchObject({ status: 'running', leaseOwner: null });
    await runner().drain();
    expect((await statusOf(rid)).type).toBe('succeeded');
  });

  it('expires jobs and files after 7 days, deleting their bytes', async () => {
    const rid = await create();
    await runner().drain();
    const status = await statusOf(rid);
    if (status.type !== 'succeeded') throw new Error('expected success');
    env.clock.advance(7 * 24 * 3_600_000);
    await expect(getExportJob(env.deps, principal, rid)).rejects.toThrow(NotepadError);
    await expect(getFile(env.deps, principal, status.fileRid)).rejects.toThrow(/FileNotFound/);
    const swept = await runner().sweep();
    expect(swept).toMatchObject({ exportJobs: 1, files: 1 });
    expect(await storedBytes()).toHaveLength(0);
    expect(await env.rows.exportJobs()).toHaveLength(0);
  });

  it('sweeps bytes that no file row names and no live attempt can commit', async () => {
    const rid = await create();
    const orphanKey = `${rid.slice(-36)}.7.pdf`;
    await env.files.write(orphanKey, new Uint8Array([1, 2, 3]));
    await runner().drain();
    const swept = await runner().sweep();
    expect(swept.orphanBytes).toBe(1);
    expect(await storedBytes()).toEqual([(await fileRows())[0]!.storageKey]);
  });

  it('never sweeps the bytes of an attempt that commits while the sweep is looking at them', async () => {
    const rid = await create();
    // A store that stops after the bytes are in place, before the runner commits them.
    let written!: () => void;
    const bytesInPlace = new Promise<void>((resolve) => (written = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const pausing: FileStore = {
      ...env.files,
      async write(key, bytes) {
        const stored = await env.files.write(key, bytes);
        written();
        await resumed;
        return stored;
      },
    };
    const committing = createJobRunner({ deps: env.deps, files: pausing, render: inProcess, owner: 'committing-runner' });
    runners.push(committing);
    const committed = committing.drain();
    await bytesInPlace;
    // The sweep's first read about those bytes is answered as it stood; the attempt then
    // commits before the sweep's next read (another process's runner, on a shared database).
    const jobs = env.deps.stores.jobs;
    let raced = false;
    const commitAfter =
      <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const answer = await read(...args);
        if (!raced) {
          raced = true;
          resume();
          await committed;
        }
        return answer;
      };
    const [fileRowExists, exportAttemptState] = [jobs.fileRowExists.bind(jobs), jobs.exportAttemptState.bind(jobs)];
    vi.spyOn(jobs, 'fileRowExists').mockImplementation(commitAfter(fileRowExists));
    vi.spyOn(jobs, 'exportAttemptState').mockImplementation(commitAfter(exportAttemptState));
    const swept = await runner().sweep();
    expect(raced).toBe(true);
    expect(swept.orphanBytes).toBe(0);
    expect((await statusOf(rid)).type).toBe('succeeded');
    expect(await storedBytes()).toEqual([(await fileRows())[0]!.storageKey]);
  });

  it("with one render slot, renders another user's one export right after the render in progress, not after the whole queue", async () => {
    env.deps.config.jobs.concurrency = 1;
    env.deps.config.jobs.expressSlots = 0;
    const floodDoc = await seedDocument(env.deps, principal.userId, { title: 'Flood' });
    for (let i = 0; i < 6; i++) {
      env.clock.advance(1);
      await createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid: floodDoc }, exportJobTarget: target });
    }
    const user = await seedUser(env.deps, { name: 'Bea' });
    const bea = await authenticate(env.deps, `Bearer ${user.token}`);
    const single = await seedDocument(env.deps, user.userId, { title: 'Single' });
    env.clock.advance(1);
    await createExportJob(env.deps, bea, { exportJobSource: { type: 'documentSource', documentRid: single }, exportJobTarget: target });
    const rendered: string[] = [];
    await runner(async (request) => {
      rendered.push(request.title);
      return renderPdf(request);
    }).drain();
    expect(rendered).toEqual(['Flood', 'Single', 'Flood', 'Flood', 'Flood', 'Flood', 'Flood']);
  });

  /**
   * One render slot and `expressSlots` express ones: `floodJobs` exports of the flooder
   * (`principal`), a runner whose Flood renders wait for `gate`, started and holding the first;
   * then Bea's one export created and the runner told. `started` lists the renders begun, by title.
   */
  async function floodThenSingle(floodJobs: number, expressSlots: number) {
    env.deps.config.jobs.concurrency = 1;
    env.deps.config.jobs.expressSlots = expressSlots;
    const floodDoc = await seedDocument(env.deps, principal.userId, { title: 'Flood' });
    const floodRids: string[] = [];
    for (let i = 0; i < floodJobs; i++) {
      env.clock.advance(1);
      floodRids.push((await createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid: floodDoc }, exportJobTarget: target })).rid);
    }
    const user = await seedUser(env.deps, { name: 'Bea' });
    const bea = await authenticate(env.deps, `Bearer ${user.token}`);
    const single = await seedDocument(env.deps, user.userId, { title: 'Single' });
    const gate = gatedRenderer();
    const started: string[] = [];
    const r = runner(async (request, options) => {
      started.push(request.title);
      return request.title === 'Flood' ? gate.render(request, options) : renderPdf(request);
    });
    r.start();
    await gate.started;
    env.clock.advance(1);
    const singleRid = (await createExportJob(env.deps, bea, { exportJobSource: { type: 'documentSource', documentRid: single }, exportJobTarget: target })).rid;
    r.notify();
    return { floodRids, bea, singleRid, gate, started, r };
  }

  it("an express slot renders another user's export beside a flood's render, and never takes the flood's own jobs", async () => {
    const { floodRids, bea, singleRid, gate, started, r } = await floodThenSingle(3, 1);
    // Bea's export finishes while the flood's first render is still held.
    await vi.waitFor(async () => expect((await getExportJob(env.deps, bea, singleRid)).status.type).toBe('succeeded'), { timeout: 20_000 });
    expect(started).toEqual(['Flood', 'Single']);
    // The express slot is free again, yet the flood's user is rendering: its next job waits for the regular slot.
    r.notify();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['Flood', 'Single']);
    expect(await Promise.all(floodRids.map(async (rid) => (await statusOf(rid)).type))).toEqual(['running', 'running', 'running']);
    gate.release();
    await r.drain();
    expect(await Promise.all(floodRids.map(async (rid) => (await statusOf(rid)).type))).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(started).toEqual(['Flood', 'Single', 'Flood', 'Flood']);
  });

  it('without express slots, another user waits for the render in progress', async () => {
    const { bea, singleRid, gate, started, r } = await floodThenSingle(1, 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['Flood']);
    gate.release();
    await r.drain();
    expect((await getExportJob(env.deps, bea, singleRid)).status.type).toBe('succeeded');
    expect(started).toEqual(['Flood', 'Single']);
  });

  it('runs generation jobs and records their content', async () => {
    const templateRid = await seedTemplate(env.deps, principal.userId, {
      blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hello ' }, { type: 'parameter', name: 'who' }] }],
    });
    const rid = await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'running', parameters: { who: { type: 'string', value: 'world' } } });
    await runner().drain();
    const row = await env.rows.generationJob(rid);
    expect(row?.status).toBe('succeeded');
    expect(row?.content).toEqual({ blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'world' }] }] });
  });
  it('yields to the event loop between batches of generation jobs', async () => {
    const templateRid = await seedTemplate(env.deps, principal.userId);
    const queued = 500;
    for (let i = 0; i < queued; i++) await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'running' });
    // Counted as each outcome commits (the runner's job events), so a turn of the event loop reads it at once.
    let finished = 0;
    const unsubscribe = env.deps.jobEvents.subscribe((event) => {
      if (event.kind === 'generation' && (event.type === 'succeeded' || event.type === 'failed')) finished++;
    });
    // Queued before the runner starts: it runs as soon as the runner gives the event loop a turn.
    let finishedWhenServed: number | undefined;
    setImmediate(() => {
      finishedWhenServed = finished;
    });
    // And every later turn, while the queue is worked through.
    const served: number[] = [];
    let sampling = true;
    const sample = () => {
      served.push(finished);
      if (sampling) setImmediate(sample);
    };
    setImmediate(sample);
    const r = runner();
    r.start();
    await r.drain();
    sampling = false;
    unsubscribe();
    expect(finished).toBe(queued);
    expect((await env.rows.generationJobs()).filter((job) => job.status !== 'running')).toHaveLength(queued);
    expect(finishedWhenServed).toBeLessThan(queued);
    expect(served.some((n) => n > 0 && n < queued)).toBe(true);
    // On SQLite every store call resolves without waiting for I/O, so the first turn the event
    // loop gets is the runner's own yield after a batch: some jobs are done by then. On
    // PostgreSQL each claim waits for the server, so the loop turns before the first job ends.
    if (env.backend === 'sqlite') expect(finishedWhenServed).toBeGreaterThan(0);
  });

  it('an attempt whose lease lapsed never commits: its bytes may be swept, and the job is run again to one downloadable file', async () => {
    const rid = await create();
    // A store that stops after the bytes are in place, before the runner commits them.
    let written!: () => void;
    const bytesInPlace = new Promise<void>((resolve) => (written = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let paused = false;
    const pausing: FileStore = {
      ...env.files,
      async write(key, bytes) {
        const stored = await env.files.write(key, bytes);
        if (!paused) {
          paused = true;
          written();
          await resumed;
        }
        return stored;
      },
    };
    const lapsing = createJobRunner({ deps: env.deps, files: pausing, render: inProcess, owner: 'lapsing-runner' });
    runners.push(lapsing);
    const lapsingDone = lapsing.drain();
    await bytesInPlace;
    env.clock.advance(1_001); // the lease runs out between the write and the commit
    expect((await runner().sweep()).orphanBytes).toBe(1); // no live attempt owns those bytes
    resume();
    await lapsingDone;
    await runner().drain();
    const status = await statusOf(rid);
    expect(status.type).toBe('succeeded');
    if (status.type !== 'succeeded') return;
    const file = await getFile(env.deps, principal, status.fileRid);
    const chunks: Buffer[] = [];
    for await (const chunk of await env.files.open(file.storageKey)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).subarray(0, 5).toString()).toBe('%PDF-');
    expect(await fileRows()).toHaveLength(1);
    expect(await storedBytes()).toEqual([file.storageKey]);
    expect((await env.rows.exportJob(rid))?.attempts).toBe(2);
  });
});
