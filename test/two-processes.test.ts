import { describe, expect, it } from 'vitest';
import { backendWorkspace, postJson, sleep, type ServerProcess } from './process-helpers.js';
import { recordReliability } from './reliability-record.js';

const CREATES_PER_SERVER = Number(process.env.TWO_PROCESS_CREATES ?? 30);
const CONCURRENCY = 8;

const workspace = backendWorkspace('notepad-two-');
const { start } = workspace;

describe('two server processes, one database', () => {
  it('serve creates under load and run jobs without SQLITE_BUSY, losses or double renders', { timeout: 240_000 }, async () => {
    const { token, documentRid } = await workspace.seedExporter({ name: 'Load', title: 'Small', text: 'Hello from two processes' });

    const env = { NOTEPAD_JOB_CONCURRENCY: '1', LOG_LEVEL: 'info' };
    const [a, b] = await Promise.all([start(env), start(env)]);

    const statuses = new Map<number, number>();
    const created: string[] = [];
    const body = { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } };
    async function load(server: ServerProcess) {
      let remaining = CREATES_PER_SERVER;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (remaining-- > 0) {
            const result = await postJson(`${server.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, token, body);
            statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
            if (result.status === 200) created.push(result.body.rid as string);
          }
        }),
      );
    }
    await Promise.all([load(a!), load(b!)]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: 2 * CREATES_PER_SERVER });

    const inspect = await workspace.open();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if ((await inspect.rows.exportJobs()).every((job) => job.status !== 'running')) break;
      await sleep(100);
    }
    const jobs = await inspect.rows.exportJobs();
    const fileRows = await inspect.rows.files();
    // Every key the store holds, a write not yet in place (a local temp file) marked as such.
    const stored = (await inspect.files.list()).map(({ storageKey, temp }) => (temp ? `(temp) ${storageKey}` : storageKey)).sort();
    await inspect.close();
    expect(new Set(jobs.map((j) => j.rid))).toEqual(new Set(created));
    expect(jobs.every((j) => j.status === 'succeeded')).toBe(true);
    expect(fileRows).toHaveLength(created.length);

    // A runner logs a success after its commit, and stdout arrives later than the row: give
    // the last lines a moment, so a slow pipe is not taken for a missing render.
    const successLines = () => [...a!.logs, ...b!.logs].filter((line) => line.msg === 'export job succeeded').length;
    for (const until = Date.now() + 5_000; successLines() < created.length && Date.now() < until; ) await sleep(50);
    // Every job was rendered by exactly one of the two runners.
    const renders = [...a!.logs, ...b!.logs].filter((line) => line.msg === 'export job succeeded').map((line) => line.exportJobRid as string);
    expect(renders.sort()).toEqual([...created].sort());
    const byServer = [a!, b!].map((server) => server.logs.filter((line) => line.msg === 'export job succeeded').length);
    // Both runners took part: one process rendering everything would not test sharing the queue.
    expect(byServer[0], 'server A rendered no job').toBeGreaterThan(0);
    expect(byServer[1], 'server B rendered no job').toBeGreaterThan(0);
    // Contention the database gave up on: SQLite's busy lock, PostgreSQL's deadlocks and serialization failures.
    const busy = [...a!.logs, ...b!.logs].filter((line) => /SQLITE_BUSY|deadlock detected|could not serialize/.test(JSON.stringify(line)));
    expect(busy).toEqual([]);
    expect(stored).toEqual(fileRows.map((f) => f.storageKey).sort());

    await recordReliability(workspace.backend === 'sqlite' ? 'two-processes' : 'two-processes-postgres', [
      `Last run: ${new Date().toISOString()} — two server processes on one ${workspace.backend === 'sqlite' ? 'SQLite file' : 'PostgreSQL database and S3 bucket'}, ${CREATES_PER_SERVER} creates each at ${CONCURRENCY} concurrent requests.`,
      '',
      'Asserted: every create answered 200; the jobs present are exactly those created, all succeeded, one file each; each',
      "job's 'export job succeeded' line appears once over both logs (rendered twice: 0); each server rendered > 0;",
      'no log line mentions SQLITE_BUSY; no bytes without a file row. The A / B split is asserted only as both > 0.',
      '',
      '| creates | non-200 responses | jobs present | rendered by A / B (split observed, each > 0 asserted) | rendered twice | SQLITE_BUSY in logs |',
      '|---|---|---|---|---|---|',
      `| ${2 * CREATES_PER_SERVER} | 0 | ${jobs.length} | ${byServer.join(' / ')} | 0 | 0 |`,
    ]);
  });
});
