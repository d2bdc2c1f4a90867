/**
 * The test backends process and `npm test`'s launcher (scripts/test-backends/): the
 * launcher exits with vitest's code, stops the backends and repeats what failed at the end;
 * a backends process killed by SIGKILL leaves a postmaster behind that the next start reaps;
 * a run that hangs is ended as failed (watchdog.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { failureSummary } from '../scripts/test-backends/failures.js';
import { ENV, startBackendsProcess } from '../scripts/test-backends/protocol.js';
import { BOTH_BACKEND_SUITES } from '../scripts/test-backends/suites.js';
import { DEFAULT_SILENCE_SECONDS, silenceLimitMs } from '../scripts/test-backends/watchdog.js';

const ROOT = resolve(import.meta.dirname, '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const work = mkdtempSync(join(tmpdir(), 'notepad-launcher-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Running: a zombie is not (a killed process whose parent died waits for an init that may never reap it). */
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/\) Z /.test(stat);
};

/** Runs the launcher on the fixture config; resolves with its exit code, its output and the PostgreSQL URL the check saw. */
async function runLauncher(
  outcome: 'pass' | 'fail' | 'hang',
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string; postgresUrl: string; forkPid: number }> {
  const report = join(work, `${outcome}.url`);
  const env: NodeJS.ProcessEnv = { ...process.env, LAUNCHER_FIXTURE_OUTCOME: outcome, LAUNCHER_FIXTURE_REPORT: report, ...extraEnv };
  for (const name of Object.values(ENV)) delete env[name];
  const child = spawn(process.execPath, ['--import', tsxLoader, 'scripts/test-backends/launch.ts', '--config', 'test/fixtures/launcher/vitest.config.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  return { code, stdout, stderr, postgresUrl: readFileSync(report, 'utf8'), forkPid: Number(readFileSync(`${report}.pid`, 'utf8')) };
}

async function refusesConnections(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

// Each test starts a PostgreSQL cluster (initdb included) and a vitest run: generous limits
// for a loaded two-core machine; nothing here measures time.
const SLOW = 180_000;

describe('the test launcher', () => {
  it('exits non-zero when vitest fails, stops the backends, and repeats what failed at the very end', async () => {
    const { code, stdout, postgresUrl } = await runLauncher('fail');
    expect(code).not.toBe(0);
    const summary = stdout.slice(stdout.lastIndexOf('what failed'));
    expect(summary).toContain(`The run: FAILED (exit code ${code})`);
    expect(summary).toContain('✗ test/fixtures/launcher/outcome.check.ts › sees the backends and ends as told');
    expect(summary).toContain("expected 'fail' to be 'pass'");
    expect(postgresUrl).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
    expect(await refusesConnections(postgresUrl)).toBe(true);
  }, SLOW);

  it('exits 0 when vitest passes, and stops the backends', async () => {
    const { code, stdout, postgresUrl } = await runLauncher('pass');
    expect(code).toBe(0);
    expect(stdout).not.toContain('what failed');
    expect(await refusesConnections(postgresUrl)).toBe(true);
  }, SLOW);

  it('ends a run that prints nothing for NOTEPAD_TEST_SILENCE_SECONDS as failed, its test forks with it, and says why', async () => {
    const { code, stdout, stderr, postgresUrl, forkPid } = await runLauncher('hang', { NOTEPAD_TEST_SILENCE_SECONDS: '3' });
    expect(code).toBe(124);
    expect(stderr).toContain('test launcher: vitest printed nothing for 3 s, so a test file is stuck');
    expect(stdout.slice(stdout.lastIndexOf('what failed'))).toContain('The run: FAILED (exit code 124)');
    // The fork running the hung file is not left behind, and neither are the backends.
    expect(isAlive(forkPid)).toBe(false);
    expect(await refusesConnections(postgresUrl)).toBe(true);
  }, SLOW);

  it('lets a run that prints as it goes finish under the same limit', async () => {
    // The passing run's silences (start-up, the one file) are each well under a minute.
    const { code } = await runLauncher('pass', { NOTEPAD_TEST_SILENCE_SECONDS: '60' });
    expect(code).toBe(0);
  }, SLOW);

  it('refuses a silence limit that is not a number of seconds', () => {
    expect(silenceLimitMs({})).toBe(DEFAULT_SILENCE_SECONDS * 1000);
    expect(silenceLimitMs({ NOTEPAD_TEST_SILENCE_SECONDS: '0' })).toBe(0);
    expect(silenceLimitMs({ NOTEPAD_TEST_SILENCE_SECONDS: '2.5' })).toBe(2500);
    expect(() => silenceLimitMs({ NOTEPAD_TEST_SILENCE_SECONDS: 'ten' })).toThrow(/NOTEPAD_TEST_SILENCE_SECONDS must be a number of seconds/);
    expect(() => silenceLimitMs({ NOTEPAD_TEST_SILENCE_SECONDS: '-1' })).toThrow(/NOTEPAD_TEST_SILENCE_SECONDS/);
  });
});

describe("the launcher's closing summary (failureSummary)", () => {
  const reportAt = (name: string, report: unknown) => {
    const path = join(work, name);
    writeFileSync(path, JSON.stringify(report));
    return path;
  };

  it('names each failed test by file and name, with its message but not the frames inside node_modules', () => {
    const path = reportAt('failed-test.json', {
      testResults: [
        {
          name: join(ROOT, 'test/a.test.ts'),
          status: 'failed',
          message: '',
          assertionResults: [
            { fullName: 'group passes', status: 'passed', failureMessages: [] },
            { fullName: 'group fails', status: 'failed', failureMessages: [`AssertionError: expected 2 to be 3\n    at ${ROOT}/test/a.test.ts:3:37\n    at file:///x/node_modules/@vitest/runner/dist/a.js:1:1`] },
          ],
        },
      ],
    });
    const summary = failureSummary('The first run (SQLite)', 1, path, ROOT);
    expect(summary.split('\n')).toEqual(['The first run (SQLite): FAILED (exit code 1)', '  ✗ test/a.test.ts › group fails', '      AssertionError: expected 2 to be 3', '      at test/a.test.ts:3:37']);
  });

  it('names a file that failed outside any test, such as an import error', () => {
    const path = reportAt('failed-file.json', { testResults: [{ name: join(ROOT, 'test/b.test.ts'), status: 'failed', message: 'Error: Cannot find module x', assertionResults: [] }] });
    expect(failureSummary('The run', 1, path, ROOT)).toContain('  ✗ test/b.test.ts (outside any test)\n      Error: Cannot find module x');
  });

  it('names a file whose suite hook failed, which the report records only as a failed file', () => {
    const path = reportAt('failed-hook.json', {
      testResults: [{ name: join(ROOT, 'test/d.test.ts'), status: 'failed', message: '', assertionResults: [{ fullName: 'suite case', status: 'skipped', failureMessages: [] }] }],
    });
    const summary = failureSummary('The run', 1, path, ROOT);
    expect(summary).toContain('  ✗ test/d.test.ts (outside any test, such as a beforeAll or afterAll hook');
    expect(summary).not.toContain('no failed test in its report');
  });

  it('says so when the report names no failure, when there is no report, and when the caller chose the reporters', () => {
    const clean = reportAt('clean.json', { testResults: [{ name: join(ROOT, 'test/c.test.ts'), status: 'passed', message: '', assertionResults: [{ fullName: 'ok', status: 'passed' }] }] });
    expect(failureSummary('The run', 1, clean, ROOT)).toContain('no failed test in its report');
    expect(failureSummary('The run', 137, join(work, 'never-written.json'), ROOT)).toContain('The run: FAILED (exit code 137)\n  it wrote no report');
    expect(failureSummary('The run', 1, undefined, ROOT)).toContain('  no report: the reporters were chosen by the caller');
  });
});

describe('the backends process', () => {
  it('reaps the postmaster and directory of an earlier run killed by SIGKILL', async () => {
    const first = await startBackendsProcess();
    const { dir, postgresPid } = first.backends.owner!;
    first.proc.kill('SIGKILL');
    await new Promise((done) => first.proc.once('exit', done));
    // What SIGKILL leaves: the postmaster serves on, its directory stays.
    expect(isAlive(postgresPid)).toBe(true);
    expect(existsSync(dir)).toBe(true);

    const second = await startBackendsProcess();
    try {
      expect(isAlive(postgresPid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      // The new cluster serves.
      const client = new pg.Client({ connectionString: second.backends.postgresUrl });
      await client.connect();
      expect((await client.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await second.stop();
    }
    expect(existsSync(second.backends.owner!.dir)).toBe(false);
  }, SLOW);

  it('stops and starts PostgreSQL on command, on the same port with its data kept', async () => {
    const running = await startBackendsProcess();
    try {
      const url = running.backends.postgresUrl;
      const client = new pg.Client({ connectionString: url });
      // The stop terminates this connection: its error is expected, not a crash.
      client.on('error', () => {});
      await client.connect();
      await client.query('create table kept (n int); insert into kept values (7)');
      await running.stopPostgres();
      expect(await refusesConnections(url)).toBe(true);
      await client.end().catch(() => {});
      await running.startPostgres();
      const again = new pg.Client({ connectionString: url });
      await again.connect();
      expect((await again.query<{ n: number }>('select n from kept')).rows).toEqual([{ n: 7 }]);
      await again.end();
    } finally {
      await running.stop();
    }
    expect(existsSync(running.backends.owner!.dir)).toBe(false);
  }, SLOW);
});

describe("the launcher's second run (scripts/test-backends/suites.ts)", () => {
  it('names suites that exist and reach storage through the test backend, never a SQLite-only environment', () => {
    for (const suite of BOTH_BACKEND_SUITES) {
      const text = readFileSync(join(ROOT, suite), 'utf8');
      // A suite on createSqliteTestEnv, serverWorkspace or openForSeeding would run on SQLite
      // a second time and call it PostgreSQL; its SQLite-only cases say so with TEST_BACKEND.
      expect(text, suite).toMatch(/createTestEnv|startLiveServer|backendWorkspace/);
      const outsideSqliteOnly = text.replace(/^import .*$/gm, '').replace(/if \(TEST_BACKEND === 'sqlite'\) describe\([\s\S]*?\n\}\);/g, '');
      expect(outsideSqliteOnly, suite).not.toMatch(/createSqliteTestEnv|serverWorkspace|openForSeeding|env\.db\b|\.database\./);
    }
  });
});
