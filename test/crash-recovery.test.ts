import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportJobs, files } from '../db/schema.js';
import type { Content } from '../server/contract/content.js';
import * as admin from '../server/services/admin.js';
import { openForSeeding, postJson, serverWorkspace, sleep } from './process-helpers.js';
import { recordReliability } from './reliability-record.js';

// The quick configuration runs in `npm test`; `npm run reliability` runs the long one.
const JOBS = Number(process.env.CRASH_JOBS ?? 10);
const PAGES = Number(process.env.CRASH_PAGES ?? 12);

const { dbPath, filesDir, start } = serverWorkspace('notepad-crash-');

function longDocument(pages: number): Content {
  const blocks: Content['blocks'] = [];
  for (let page = 0; page < pages; page++) {
    blocks.push({ type: 'heading', level: 2, content: [{ type: 'text', text: `Section ${page + 1}` }] });
    for (let p = 0; p < 6; p++) {
      blocks.push({ type: 'paragraph', content: [{ type: 'text', text: `Paragraph ${p} of section ${page + 1}. `.repeat(8) }] });
    }
    if (page < pages - 1) blocks.push({ type: 'pageBreak' });
  }
  return { blocks };
}

const env = { NOTEPAD_JOB_LEASE_MS: '1500', NOTEPAD_JOB_CONCURRENCY: '2' };

describe('crash recovery', () => {
  it('SIGKILL mid-render: after a restart every job ends once, with one file, no orphans, an intact database', { timeout: 300_000 }, async () => {
    const seed = openForSeeding(dbPath);
    const { userId } = admin.createUser(seed.deps, { name: 'Crash' });
    const { token } = admin.createToken(seed.deps, { userId, scopes: ['api:notepad-export'] });
    const { documentRid } = admin.createDocument(seed.deps, { title: 'Long', content: longDocument(PAGES), ownerId: userId });
    seed.close();

    const first = await start(env);
    const rids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const created = await postJson(`${first.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, token, {
        exportJobSource: { type: 'documentSource', documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      });
      expect(created.status).toBe(200);
      rids.push(created.body.rid as string);
    }
    // Kill it once some, but not all, jobs are done: mid-render for the rest.
    const inspect = openForSeeding(dbPath);
    const succeeded = () => inspect.sqlite.prepare("select count(*) as n from export_jobs where status = 'succeeded'").get() as { n: number };
    const deadline = Date.now() + 60_000;
    while (succeeded().n < 1 && Date.now() < deadline) await sleep(20);
    await first.kill('SIGKILL');
    const runningAtCrash = (inspect.sqlite.prepare("select count(*) as n from export_jobs where status = 'running'").get() as { n: number }).n;
    expect(runningAtCrash).toBeGreaterThan(0);

    const second = await start(env);
    const finishBy = Date.now() + 120_000;
    while (Date.now() < finishBy) {
      const left = inspect.sqlite.prepare("select count(*) as n from export_jobs where status = 'running'").get() as { n: number };
      if (left.n === 0) break;
      await sleep(100);
    }
    await second.kill('SIGTERM');
    expect(await second.exited).toBe(0); // graceful shutdown exits cleanly

    const jobs = inspect.deps.db.select().from(exportJobs).all();
    const fileRows = inspect.deps.db.select().from(files).all();
    expect(jobs).toHaveLength(JOBS);
    expect(jobs.filter((j) => j.status === 'running')).toEqual([]);
    for (const job of jobs) {
      if (job.status === 'failed') expect(job.errorMessage).toBeTruthy();
      else expect(fileRows.filter((f) => f.exportJobRid === job.rid)).toHaveLength(1);
    }
    const onDisk = readdirSync(filesDir).sort();
    expect(onDisk).toEqual(fileRows.map((f) => f.storageKey).sort());
    expect(inspect.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    const recovered = jobs.filter((j) => j.attempts > 1).length;
    inspect.close();

    await recordReliability('crash', [
      `Last run: ${new Date().toISOString()} — ${JOBS} exports of a ${PAGES}-page document, server SIGKILLed after the first finished.`,
      '',
      '| jobs | running at the kill | recovered (claimed again) | succeeded | failed | stuck running | files | orphan bytes | integrity_check |',
      '|---|---|---|---|---|---|---|---|---|',
      `| ${JOBS} | ${runningAtCrash} | ${recovered} | ${jobs.filter((j) => j.status === 'succeeded').length} | ${jobs.filter((j) => j.status === 'failed').length} | 0 | ${fileRows.length} | 0 | ok |`,
    ]);
  });
});
