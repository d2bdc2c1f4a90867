import { describe, expect, it } from 'vitest';
import { backendWorkspace, postJson, sleep } from './process-helpers.js';

const workspace = backendWorkspace('notepad-roles-');
const { start } = workspace;
const empty = backendWorkspace('notepad-roles-empty-');

describe('NOTEPAD_ROLE: api and runner in separate processes on one database', () => {
  it('a runner-only process stays up and renders what an api-only process accepted, until told to stop', { timeout: 120_000 }, async () => {
    const { token, documentRid } = await workspace.seedExporter({ name: 'Roles', title: 'Split roles', text: 'Rendered by the runner process' });

    const api = await start({ NOTEPAD_ROLE: 'api' });
    const runner = await start({ NOTEPAD_ROLE: 'runner', NOTEPAD_JOB_CONCURRENCY: '1' });
    // Nothing listens in a runner: it must keep itself alive rather than exit once started.
    await sleep(500);
    expect(runner.proc.exitCode).toBeNull();

    const created = await postJson(`${api.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, token, {
      exportJobSource: { type: 'documentSource', documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
    });
    expect(created.status).toBe(200);
    const rid = created.body.rid as string;

    let status: Record<string, unknown> = {};
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const response = await fetch(`${api.baseUrl}/api/v2/notepad/exportJobs/${rid}?preview=true`, { headers: { authorization: `Bearer ${token}` } });
      status = ((await response.json()) as { status: Record<string, unknown> }).status;
      if (status.type !== 'running') break;
      await sleep(50);
    }
    expect(status.type).toBe('succeeded');
    const pdf = await fetch(`${api.baseUrl}/api/v2/notepad/files/${status.fileRid as string}/content?preview=true`, { headers: { authorization: `Bearer ${token}` } });
    expect(pdf.status).toBe(200);
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');

    // The runner rendered it, not the api process.
    expect(runner.logs.some((line) => line.msg === 'export job succeeded' && line.exportJobRid === rid)).toBe(true);
    expect(api.logs.some((line) => line.msg === 'export job succeeded')).toBe(false);

    expect(await runner.kill('SIGTERM')).toBe(0);
    expect(await api.kill('SIGTERM')).toBe(0);
  });

  it('only a process that serves the API seeds an empty database, and once, however many start together', { timeout: 120_000 }, async () => {
    const runner = await empty.start({ NOTEPAD_ROLE: 'runner', NOTEPAD_JOB_CONCURRENCY: '1' });
    const opened = await empty.open();
    try {
      expect(await opened.deps.stores.directory.hasUsers()).toBe(false);
      // Two API nodes at once: the seed claims the first user (one check-and-insert that
      // processes take in turn), so one seeds and the other finds a user and leaves it.
      const apis = await Promise.all([empty.start({ NOTEPAD_ROLE: 'api' }), empty.start({ NOTEPAD_ROLE: 'api' })]);
      expect(await opened.deps.stores.directory.hasUsers()).toBe(true);
      // One demo user, with its one document (each seed makes a user who owns a document).
      const owners = new Set((await opened.rows.permissions({})).map((grant) => grant.principalId));
      expect(owners.size).toBe(1);
      // One process printed the seed's instructions; the other says the database was seeded.
      // (Logged after the process listens, so it may arrive after its start resolved.)
      await expect.poll(() => apis.filter((api) => api.logs.some((line) => String(line.msg).startsWith('database already seeded'))).length).toBe(1);
      for (const api of apis) expect(await api.kill('SIGTERM')).toBe(0);
    } finally {
      await opened.close();
      await runner.kill('SIGTERM');
    }
  });
});
