import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { exportJobs } from '../db/schema.js';
import type { Renderer } from '../server/jobs/export-job.js';
import { createJobRunner, type JobRunner } from '../server/jobs/runner.js';
import { PassThrough } from 'node:stream';
import { runCli } from '../client/cli.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';
import { startApiServer, startLiveServer, type ApiServer, type LiveServer } from './live-server.js';

/**
 * The user's CLI, `notepad-export export …` (the package's bin), spawned as a real process
 * against a live server: the PDF written, progress on stderr, --json, failures, Ctrl-C.
 */

const BIN = resolve(import.meta.dirname, '../bin/notepad-export.mjs');
const dir = mkdtempSync(join(tmpdir(), 'notepad-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin; `onStderr` sees stderr as it arrives and may signal the process. */
function cli(args: string[], onStderr?: (text: string, proc: ReturnType<typeof spawn>) => void): Promise<Run> {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    onStderr?.(stderr, proc);
  });
  return new Promise((resolveRun) => proc.on('exit', (code) => resolveRun({ code, stdout, stderr })));
}

const exportArgs = (base: string, token: string, documentRid: string) => ['export', '--url', base, '--token', token, '--document', documentRid, '--locale', 'de-DE', '--timezone', 'Europe/Berlin'];

describe('notepad-export export, against a live server', () => {
  let server: LiveServer;
  let user: { userId: string; token: string };
  let documentRid: string;
  beforeAll(async () => {
    server = await startLiveServer();
    user = await seedUser(server.env.deps);
    documentRid = await seedDocument(server.env.deps, user.userId);
  });
  afterAll(() => server.close());

  it('writes the PDF to -o and prints progress as plain lines when stderr is not a terminal', { timeout: 60_000 }, async () => {
    const run = await cli([...exportArgs(server.baseUrl, user.token, documentRid), '-o', 'report.pdf']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'report.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^wrote report\.pdf \(\d+ bytes\)$/);
    // Each line one state (no terminal escapes), in the order a job goes through them.
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^(queued|rendering, \d+ pages?|storing)$/);
    expect(run.stderr).not.toContain('\x1b[');
    expect(run.stdout).toBe('');
  });

  it('with --json prints exactly one JSON object on stdout', { timeout: 60_000 }, async () => {
    const run = await cli([...exportArgs(server.baseUrl, user.token, documentRid), '-o', 'json.pdf', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(summary).toEqual({ exportJobRid: expect.stringMatching(/^ri\.notepad\.main\.export-job\./), fileRid: expect.stringMatching(/^ri\.notepad\.main\.file\./), file: 'json.pdf', bytes: readFileSync(join(dir, 'json.pdf')).length });
    expect(run.stderr).toBe('');
  });

  it("exits 1 with the error's name and message when the export cannot be made, writing nothing", { timeout: 60_000 }, async () => {
    const missing = 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000';
    const run = await cli([...exportArgs(server.baseUrl, user.token, missing), '-o', 'missing.pdf']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('notepad-export: DocumentNotFound: ');
    expect(existsSync(join(dir, 'missing.pdf'))).toBe(false);

    const json = await cli([...exportArgs(server.baseUrl, 'np_not-a-token', documentRid), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { errorName: 'InvalidCredentials', errorCode: 'UNAUTHORIZED' } });
  });

  it('on a terminal, draws one progress bar in place and clears it at the end', { timeout: 60_000 }, async () => {
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    let drawn = '';
    stderr.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
    const code = await runCli([...exportArgs(server.baseUrl, user.token, documentRid), '-o', join(dir, 'tty.pdf')], { stdout, stderr, signal: new AbortController().signal });
    expect(code).toBe(0);
    const frames = drawn.split('\r\x1b[2K').filter(Boolean);
    expect(frames.length).toBeGreaterThan(1);
    // Every redraw starts at the line's start; the bar grows with the stage; no newline until the summary.
    expect(frames.slice(0, -1).every((frame) => /^[█░]{32} (queued|rendering, \d+ pages?|storing)$/.test(frame))).toBe(true);
    expect(frames.at(-1)).toMatch(/^wrote .*tty\.pdf \(\d+ bytes\)\n$/);
  });

  it('exits 2 with the usage on bad arguments, contacting no server', async () => {
    for (const args of [['export', '--url', 'http://127.0.0.1:1', '--token', 't', '--locale', 'en', '--timezone', 'Etc/UTC'], ['import'], ['export', '--bogus']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage: notepad-export export');
    }
  });
});

describe('Ctrl-C', () => {
  let server: ApiServer<SqliteTestEnv>;
  let runner: JobRunner;
  let started = false;
  beforeAll(async () => {
    server = await startApiServer({ now: Date.now, config: { events: { pollMs: 20 } } }, createSqliteTestEnv);
    // A render that lasts until it is aborted: the CLI is interrupted mid-render.
    const held: Renderer = (_request, options) => {
      started = true;
      return new Promise((_resolve, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }));
    };
    runner = createJobRunner({ deps: server.env.deps, files: server.env.files, render: held });
    runner.start();
    server.env.deps.jobEvents.subscribe((event) => {
      if (event.type === 'created') runner.notify();
    });
  });
  afterAll(async () => {
    await runner.stop(0);
    await server.close();
  });

  it('cancels the job on the server and exits 130', { timeout: 60_000 }, async () => {
    const user = await seedUser(server.env.deps);
    const documentRid = await seedDocument(server.env.deps, user.userId);
    let interrupted = false;
    const run = await cli([...exportArgs(server.baseUrl, user.token, documentRid), '-o', 'never.pdf'], (stderr, proc) => {
      if (!interrupted && started && stderr.includes('rendering')) {
        interrupted = true;
        proc.kill('SIGINT');
      }
    });
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('notepad-export: Cancelled: ');
    const jobs = server.env.db.select().from(exportJobs).where(eq(exportJobs.creatorId, user.userId)).all();
    expect(jobs).toMatchObject([{ status: 'failed', errorCode: 'CANCELLED' }]);
    expect(existsSync(join(dir, 'never.pdf'))).toBe(false);
  });
});
