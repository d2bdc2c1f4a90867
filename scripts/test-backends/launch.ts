/**
 * `npm test`'s runner: starts the test backends (main.ts) in their own process, runs
 * `vitest run` with their URLs in the environment (protocol.ts ENV), stops them, and exits
 * with vitest's exit code, explicitly: nothing in this process may decide it otherwise.
 * Arguments are passed on to vitest (`npm test -- test/foo.test.ts`).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { backendsToEnv, startBackendsProcess } from './protocol.js';

const vitestCli = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

async function main(): Promise<number> {
  const running = await startBackendsProcess();
  try {
    const vitest = spawn(process.execPath, [vitestCli, 'run', ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ...backendsToEnv(running.backends) },
    });
    // Ctrl-C reaches vitest from the terminal too; a SIGTERM to us is passed on.
    const forward = (signal: NodeJS.Signals) => vitest.kill(signal);
    process.on('SIGTERM', forward);
    process.on('SIGINT', () => {});
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => vitest.once('exit', (c, s) => done([c, s])));
    // Killed by a signal: the shell's convention, 128 + its number.
    return code ?? 128 + (signal ? constants.signals[signal] : 0);
  } finally {
    await running.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test launcher: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
