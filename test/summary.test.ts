import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { createJobRunner } from '../server/jobs/runner.js';
import { renderPdf } from '../server/render/render-pdf.js';
import { authenticate } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { startRunnerSummary, type SummaryTimer } from '../server/operating/summary.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';

/** A timer the test fires by hand: every callback set, and whether it was cleared. */
function manualTimer() {
  const intervals: Array<{ callback: () => void; ms: number; cleared: boolean }> = [];
  const timer: SummaryTimer = {
    setInterval(callback, ms) {
      const entry = { callback, ms, cleared: false };
      intervals.push(entry);
      return entry;
    },
    clearInterval(handle) {
      (handle as (typeof intervals)[number]).cleared = true;
    },
  };
  /** Runs every live interval's callback and lets the lines it starts be written (a line may read the store first). */
  const fire = async () => {
    for (const entry of intervals) if (!entry.cleared) entry.callback();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { timer, intervals, fire };
}

const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;
let env: SqliteTestEnv;
afterEach(() => env.cleanup());

const linesOf = (msg: string) => env.logLines().filter((line) => line.msg === msg);

describe('the api summary line', () => {
  it('every interval: requests by status class and jobs created since the last line', async () => {
    env = await createSqliteTestEnv({ config: { summaryIntervalMs: 60_000 } });
    const { timer, intervals, fire } = manualTimer();
    const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger, summaryTimer: timer });
    try {
      expect(intervals.map((i) => i.ms)).toEqual([60_000]);
      const user = await seedUser(env.deps);
      const documentRid = await seedDocument(env.deps, user.userId);
      const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
      await app.inject({ method: 'GET', url: '/health' });
      await app.inject({
        method: 'POST',
        url: '/api/v2/notepad/exportJobs/create?preview=true',
        headers,
        payload: { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target },
      });
      await app.inject({ method: 'GET', url: '/api/v2/notepad/exportJobs/create?preview=true' });
      await app.inject({ method: 'GET', url: '/nowhere' });

      env.clock.advance(60_000);
      await fire();
      expect(linesOf('api summary')).toEqual([
        expect.objectContaining({ level: 30, periodMs: 60_000, requests: { total: 4, '2xx': 2, '3xx': 0, '4xx': 2, '5xx': 0 }, jobsCreated: { export: 1, generation: 0 } }),
      ]);

      // The next line counts afresh.
      env.clock.advance(60_000);
      await fire();
      expect(linesOf('api summary')[1]).toMatchObject({ periodMs: 60_000, requests: { total: 0, '2xx': 0, '4xx': 0 }, jobsCreated: { export: 0 } });
    } finally {
      await app.close();
    }
    // Closing the app stops its timer.
    expect(intervals.every((i) => i.cleared)).toBe(true);
  });

  it('NOTEPAD_SUMMARY_INTERVAL_MS=0: no timer, no line', async () => {
    env = await createSqliteTestEnv({ config: { summaryIntervalMs: 0 } });
    const { timer, intervals } = manualTimer();
    const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger, summaryTimer: timer });
    await app.close();
    expect(intervals).toEqual([]);
    expect(linesOf('api summary')).toEqual([]);
  });
});

describe('the runner summary line', () => {
  it('every interval: jobs done, failed by errorCode, and the queue now', async () => {
    env = await createSqliteTestEnv({ config: { jobs: { concurrency: 1 } } });
    const { timer, fire } = manualTimer();
    const summary = startRunnerSummary({ deps: env.deps, log: env.logger, intervalMs: 60_000, now: env.deps.now, timer });
    const user = await seedUser(env.deps);
    const principal = await authenticate(env.deps, `Bearer ${user.token}`);
    const create = async (title: string) =>
      createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid: await seedDocument(env.deps, user.userId, { title }) }, exportJobTarget: target });
    await create('renders');
    await create('breaks');
    const render: Renderer = (request) => (request.title === 'breaks' ? Promise.reject(new Error('boom')) : renderPdf(request));
    const runner = createJobRunner({ deps: env.deps, files: env.files, render });
    await runner.drain();
    await runner.stop(0);
    await create('waits');

    env.clock.advance(60_000);
    await fire();
    expect(linesOf('runner summary')).toEqual([
      expect.objectContaining({
        level: 30,
        periodMs: 60_000,
        exportsSucceeded: 1,
        exportsFailed: { INTERNAL: 1 },
        generationsSucceeded: 0,
        generationsFailed: 0,
        queue: { export: { waiting: 1, running: 0 }, generation: { waiting: 0, running: 0 } },
      }),
    ]);
    await fire();
    expect(linesOf('runner summary')[1]).toMatchObject({ exportsSucceeded: 0, exportsFailed: {}, queue: { export: { waiting: 1 } } });
    summary.stop();
  });

  it('says so when the queue cannot be read, and still writes the line', async () => {
    env = await createSqliteTestEnv();
    const { timer, fire } = manualTimer();
    const summary = startRunnerSummary({ deps: env.deps, log: env.logger, intervalMs: 60_000, now: env.deps.now, timer });
    env.database.close();
    await fire();
    expect(linesOf('runner summary')).toEqual([expect.objectContaining({ exportsSucceeded: 0, queue: { error: expect.stringMatching(/not open/) } })]);
    summary.stop();
  });
});
