/**
 * Turns a vitest run that hangs into a failed one. Vitest bounds tests and hooks by their
 * timeouts, but nothing bounds a test file's module imports: a fork once sat for more than
 * twelve minutes inside the native import() of a module, the event loop idle, and the run
 * waited for it without end. A run that prints nothing for `silenceMs` (vitest prints each
 * file as it finishes, so only a hang is that quiet) is ended, its whole process group with
 * it, and the reason is printed where the run's output was.
 */
import type { ChildProcess } from 'node:child_process';

/** NOTEPAD_TEST_SILENCE_SECONDS: how long a run may print nothing (0: never ended for it). */
export const DEFAULT_SILENCE_SECONDS = 600;

export function silenceLimitMs(env: NodeJS.ProcessEnv): number {
  const raw = env.NOTEPAD_TEST_SILENCE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_SILENCE_SECONDS * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`NOTEPAD_TEST_SILENCE_SECONDS must be a number of seconds, 0 for no limit; got ${JSON.stringify(raw)}`);
  return seconds * 1000;
}

export interface Watchdog {
  /** Whether the run was ended for its silence. */
  readonly tripped: boolean;
  stop(): void;
}

/**
 * Copies the child's piped stdout and stderr to `out` and `err` as they come, and kills the
 * child's process group (spawn it `detached`) once neither has said anything for `silenceMs`.
 */
export function watchSilence(
  child: ChildProcess,
  silenceMs: number,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Watchdog {
  let tripped = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (silenceMs <= 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      tripped = true;
      err.write(
        `\ntest launcher: vitest printed nothing for ${Math.round(silenceMs / 1000)} s, so a test file is stuck ` +
          `(most likely in an import, which no vitest timeout bounds); the run is ended as failed. ` +
          `Every file printed above finished. NOTEPAD_TEST_SILENCE_SECONDS sets the limit.\n`,
      );
      try {
        // The forks running the test files are the group's too.
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, silenceMs);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out.write(chunk);
    arm();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err.write(chunk);
    arm();
  });
  arm();
  return {
    get tripped() {
      return tripped;
    },
    stop: () => clearTimeout(timer),
  };
}
