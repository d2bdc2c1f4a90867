/**
 * `npm test`'s runner: starts the test backends (main.ts) in their own process, runs
 * `vitest run` with their URLs in the environment (protocol.ts ENV), then runs the storage
 * suites again on PostgreSQL and S3 (suites.ts, NOTEPAD_TEST_BACKEND=postgres) against the same
 * backends, stops them, and exits non-zero if either run failed, explicitly: nothing in this
 * process may decide it otherwise. Arguments are passed on to vitest and make it one run
 * (`npm test -- test/foo.test.ts`; with NOTEPAD_TEST_BACKEND=postgres for PostgreSQL), as does
 * a NOTEPAD_TEST_BACKEND already set. Each run also writes a JSON report, and the failures of
 * every run that failed are repeated at the very end (failures.ts): the first run's would
 * otherwise scroll out of sight behind the second's output. A run that prints nothing for ten
 * minutes is ended as failed (watchdog.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { failureSummary } from './failures.js';
import { backendsToEnv, startBackendsProcess } from './protocol.js';
import { BOTH_BACKEND_SUITES } from './suites.js';
import { silenceLimitMs, watchSilence } from './watchdog.js';

const vitestCli = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** The exit code of a run ended by the watchdog: timeout(1)'s, for a command that ran out of time. */
const HUNG = 124;

/**
 * One `vitest run`; resolves with its exit code (128 + the signal's number if killed by one,
 * HUNG if it hung) and whether a signal ended it. Its output passes through the watchdog when
 * it goes to a file or a pipe (CI); on a terminal it is vitest's own, and a person sees a hang.
 */
async function vitestRun(args: string[], env: NodeJS.ProcessEnv, silenceMs: number): Promise<{ code: number; signalled: boolean }> {
  const watched = !process.stdout.isTTY && silenceMs > 0;
  const vitest = spawn(process.execPath, [vitestCli, 'run', ...args], watched ? { stdio: ['inherit', 'pipe', 'pipe'], env, detached: true } : { stdio: 'inherit', env });
  const watchdog = watched ? watchSilence(vitest, silenceMs) : undefined;
  // Ctrl-C reaches vitest from the terminal too; a SIGTERM to us is passed on.
  const forward = (signal: NodeJS.Signals) => vitest.kill(signal);
  process.on('SIGTERM', forward);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => vitest.once('exit', (c, s) => done([c, s])));
    // What it printed last may still be in the pipes; not waited for long, since a process it
    // leaked (a server a test forgot) could hold them open.
    if (watched) await Promise.race([Promise.all([vitest.stdout, vitest.stderr].map((stream) => stream && !stream.readableEnded && once(stream, 'end').catch(() => undefined))), sleep(2_000)]);
    if (watchdog?.tripped) return { code: HUNG, signalled: false };
    // Killed by a signal: the shell's convention, 128 + its number.
    return { code: code ?? 128 + (signal ? constants.signals[signal] : 0), signalled: code === null };
  } finally {
    watchdog?.stop();
    process.off('SIGTERM', forward);
  }
}

/** A SIGTERM (or Ctrl-C) came: no further run starts. */
let stopRequested = false;

const ROOT = resolve(import.meta.dirname, '../..');

interface Run {
  label: string;
  code: number;
  /** Its JSON report; undefined when the caller chose the reporters. */
  report: string | undefined;
}

async function main(): Promise<number> {
  process.on('SIGINT', () => (stopRequested = true));
  process.on('SIGTERM', () => (stopRequested = true));
  const args = process.argv.slice(2);
  const silenceMs = silenceLimitMs(process.env);
  // A JSON report beside the usual output, unless the caller chose its own reporters.
  const reports = args.some((arg) => arg.startsWith('--reporter')) ? undefined : mkdtempSync(join(tmpdir(), 'notepad-test-reports-'));
  const reportOf = (name: string) => (reports ? join(reports, `${name}.json`) : undefined);
  const reporting = (report: string | undefined) => (report ? ['--reporter=default', '--reporter=json', `--outputFile.json=${report}`] : []);
  const runs: Run[] = [];
  const running = await startBackendsProcess();
  try {
    const env = { ...process.env, ...backendsToEnv(running.backends) };
    const oneRun = args.length > 0 || Boolean(process.env.NOTEPAD_TEST_BACKEND);
    const firstLabel = !oneRun ? 'The first run (SQLite)' : process.env.NOTEPAD_TEST_BACKEND === 'postgres' ? 'The run on PostgreSQL and S3' : 'The run';
    const firstReport = reportOf('first');
    const first = await vitestRun([...args, ...reporting(firstReport)], env, silenceMs);
    runs.push({ label: firstLabel, code: first.code, report: firstReport });
    if (oneRun || first.signalled || stopRequested) return first.code;
    process.stdout.write(`\nThe storage suites again, on PostgreSQL and S3 (NOTEPAD_TEST_BACKEND=postgres):\n`);
    const secondReport = reportOf('second');
    const second = await vitestRun([...BOTH_BACKEND_SUITES, ...reporting(secondReport)], { ...env, NOTEPAD_TEST_BACKEND: 'postgres' }, silenceMs);
    runs.push({ label: 'The second run (PostgreSQL and S3)', code: second.code, report: secondReport });
    // Either run failing fails the whole: the first's code if it failed, else the second's.
    return first.code !== 0 ? first.code : second.code;
  } finally {
    await running.stop();
    const failed = runs.filter((run) => run.code !== 0);
    if (failed.length > 0) {
      process.stdout.write(`\n${'='.repeat(30)} what failed ${'='.repeat(30)}\n`);
      for (const run of failed) process.stdout.write(`${failureSummary(run.label, run.code, run.report, ROOT)}\n`);
    }
    if (reports) rmSync(reports, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test launcher: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
