import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Block, Content } from '../server/contract/content.js';
import { ContentTooLargeError, createRenderPool, isContentTooLarge, RENDER_NICENESS, type RenderPool } from '../server/render/pool.js';
import type { RenderRequest } from '../server/render/render-pdf.js';
import { readPdf, squash } from './render-pdf-text.js';

const run = promisify(execFile);

function request(content: Content, overrides: Partial<RenderRequest> = {}): RenderRequest {
  return { title: 'Pool test', content, locale: 'en-US', timezone: 'UTC', exportedAt: Date.UTC(2026, 0, 1), ...overrides };
}

/** Enough content for a render that takes a while (~100 pages). */
function bigContent(sections: number): Content {
  const sentence = 'The quick brown fox jumps over the lazy dog while the pool keeps the event loop free. ';
  const blocks: Block[] = [];
  for (let i = 0; i < sections; i++) {
    blocks.push({ type: 'heading', level: 2, content: [{ type: 'text', text: `Section ${i}` }] });
    blocks.push({ type: 'paragraph', content: [{ type: 'text', text: sentence.repeat(12) }] });
    blocks.push({
      type: 'table',
      header: [{ content: [{ type: 'text', text: 'Key' }] }, { content: [{ type: 'text', text: 'Value' }] }],
      rows: Array.from({ length: 10 }, (_, r) => [{ content: [{ type: 'text', text: `k${r}` }] }, { content: [{ type: 'number', value: r * 1.5 }] }]),
    });
  }
  return { blocks };
}

/** Runs the fixture under the tsx CLI, as `npx tsx` would, without npx's own startup. */
function runUnderTsx(): Promise<{ stdout: string }> {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const script = fileURLToPath(new URL('./fixtures/render/pool-smoke.ts', import.meta.url));
  return run(process.execPath, [tsxCli, script], { timeout: 30_000 });
}

describe('render pool', () => {
  let pool: RenderPool;
  let underTsx: Promise<{ stdout: string }>;
  beforeAll(() => {
    pool = createRenderPool({ threads: 2, idleTimeout: 1_000 });
    // A separate process: start it now so it overlaps with the in-process tests.
    underTsx = runUnderTsx();
    underTsx.catch(() => undefined);
  });
  afterAll(async () => {
    await pool.destroy();
  });

  it('renders in a worker while the main event loop keeps running', async () => {
    expect(pool.threads).toBe(2);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const result = await pool.render(request(bigContent(40)));
      expect(result.pageCount).toBeGreaterThan(20);
      expect(result.pdf).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(result.pdf.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
      // Rendering on this thread would have starved the timer for the whole render.
      expect(ticks).toBeGreaterThanOrEqual(10);
      const pdf = await readPdf(result.pdf);
      expect(pdf.numPages).toBe(result.pageCount);
      expect(squash(pdf.pages[0]!)).toContain('Section 0');
    } finally {
      clearInterval(timer);
    }
  });

  it('delivers ContentTooLargeError from the worker recognisably', async () => {
    const blocks: Block[] = Array.from({ length: 10 }, () => ({ type: 'pageBreak' }) as const).flatMap((b) => [{ type: 'paragraph', content: [{ type: 'text', text: 'x' }] } as Block, b]);
    const err = await pool.render(request({ blocks }, { limits: { maxPages: 2 } })).catch((e: unknown) => e);
    expect(isContentTooLarge(err)).toBe(true);
    expect(err).toBeInstanceOf(ContentTooLargeError);
    expect(err).toMatchObject({ limit: 'pages', max: 2 });
  });

  it('passes other worker errors through, not as ContentTooLarge', async () => {
    const err = await pool.render(request({ blocks: null } as unknown as Content)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isContentTooLarge(err)).toBe(false);
  });

  it('cancels a running render when the signal aborts, at its next page break, keeping its worker, and stays usable', async () => {
    const controller = new AbortController();
    expect(pool.busy).toBe(0);
    const stoppedBefore = pool.workersStopped;
    const pages: number[] = [];
    const pending = pool.render(request(bigContent(200)), { signal: controller.signal, onPages: (n) => pages.push(n) });
    // One worker busy while it renders (a metric: notepad_render_workers_busy), none once it stopped.
    expect(pool.busy).toBe(1);
    // Cancelled once it has rendered a page or two: mid-render, far from its end.
    await vi.waitFor(() => expect(pages.length).toBeGreaterThan(0), { timeout: 10_000, interval: 2 });
    controller.abort(new Error('the job was cancelled'));
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', cause: { message: 'the job was cancelled' } });
    expect(pool.busy).toBe(0);
    // Stopped by the render itself, not by terminating its worker (which can abort the process: pool.ts).
    expect(pool.workersStopped).toBe(stoppedBefore);
    expect(Math.max(...pages)).toBeLessThan(50);
    const after = await pool.render(request({ blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'still here' }] }] }));
    expect(after.pageCount).toBe(1);
  });

  it('works when the process runs under `tsx` (workers inherit its loader flags) and exits', async () => {
    const { stdout } = await underTsx;
    const out = JSON.parse(stdout.trim()) as { head: string; pageCount: number; limited: boolean; execArgv: string[] };
    expect(out).toMatchObject({ head: '%PDF-', pageCount: 1, limited: true });
    expect(out.execArgv.join(' ')).toContain('tsx');
  });

  it('a render that runs its worker out of memory is ContentTooLarge (memory), and the pool renders on', { timeout: 60_000 }, async () => {
    const small = createRenderPool({ threads: 1, limits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    try {
      const ordinary = await small.render(request(bigContent(5)));
      expect(ordinary.pageCount).toBeGreaterThan(1); // the limit leaves room for ordinary documents
      // Stacked combining marks: each a glyph of its own to lay out, far more memory than their bytes.
      const marks = 'a' + '\u0301'.repeat(50);
      const heavy: Content = { blocks: Array.from({ length: 40 }, () => ({ type: 'paragraph' as const, content: [{ type: 'text' as const, text: marks.repeat(1_900) }] })) };
      const error = await small.render(request(heavy)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ContentTooLargeError);
      expect(error).toMatchObject({ limit: 'memory', max: 48 });
      expect(isContentTooLarge(error)).toBe(true);
      expect((await small.render(request(bigContent(2)))).pageCount).toBeGreaterThan(0);
    } finally {
      await small.destroy();
    }
  });
});

/** The nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('render pool lanes', () => {
  it('renders express jobs in their own lane, whose threads run at a higher priority than the bulk lane and a lower one than the API', async () => {
    const before = threadNiceValues();
    expect(before.filter((nice) => nice !== 0)).toEqual([]);
    const lanes = createRenderPool({ threads: 1, expressThreads: 1, idleTimeout: 1_000 });
    try {
      expect(lanes.threads).toBe(2);
      const [bulk, express] = await Promise.all([lanes.render(request(bigContent(2))), lanes.render(request(bigContent(2)), { express: true })]);
      expect(bulk.pageCount).toBeGreaterThan(0);
      expect(express.pageCount).toBe(bulk.pageCount);
      const nice = threadNiceValues();
      expect(nice.filter((n) => n === RENDER_NICENESS.express).length).toBeGreaterThanOrEqual(1);
      expect(nice.filter((n) => n === RENDER_NICENESS.bulk).length).toBeGreaterThanOrEqual(1);
      expect(RENDER_NICENESS.express).toBeLessThan(RENDER_NICENESS.bulk);
    } finally {
      await lanes.destroy();
    }
  });

  it('without an express lane, express jobs render in the bulk lane', async () => {
    const single = createRenderPool({ threads: 1, idleTimeout: 1_000 });
    try {
      expect(single.threads).toBe(1);
      const result = await single.render(request(bigContent(1)), { express: true });
      expect(result.pageCount).toBeGreaterThan(0);
      expect(threadNiceValues().filter((n) => n === RENDER_NICENESS.express)).toEqual([]);
    } finally {
      await single.destroy();
    }
  });
});
