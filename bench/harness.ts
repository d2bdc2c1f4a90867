/**
 * The bench's one library: child processes (spawn, pin, wait for the port, stop), an
 * autocannon round, interleaved rounds, statistics, and the shape of a result entry.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_DIR = join(ROOT, 'bench');

// Resolved from node_modules so children never need npx (or the network) to find tsx.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// ---- settings ----------------------------------------------------------------------------

export type ModeName = 'full' | 'quick' | 'smallest';

export interface Settings {
  mode: ModeName;
  /** Interleaved subject/baseline rounds per load and end-to-end scenario (after a warm-up). */
  rounds: number;
  /** Rounds of the render-throughput and isolation scenarios, whose rounds take far longer. */
  renderRounds: number;
  /** Seconds per autocannon round. */
  loadSeconds: number;
  /** Warm-up before the rounds (load for warmupSeconds, or a render or a few exports); off only for the smoke run. */
  warmup: boolean;
  warmupSeconds: number;
  /**
   * Scenarios reuse one server (or render child) per role instead of starting their own:
   * start-up is most of a short run. Processes a figure depends on being fresh (a peak RSS,
   * an empty table) are still started fresh unless `concurrent`.
   */
  shareProcesses: boolean;
  /**
   * The smoke run: every scenario at once, every process shared. It proves the scenarios
   * still work in a fraction of the time; its figures mean nothing.
   */
  concurrent: boolean;
  connections: number;
  /** Pages of the render-throughput document. */
  renderPages: number;
  /** Pages of the render-scripts document (right-to-left, Devanagari, Thai). */
  scriptPages: number;
  /** Sequential exports per end-to-end round. */
  e2eExports: number;
  /**
   * Exports (or renders) of the demo document that warm each process an end-to-end or runner
   * scenario measures, before it measures (when `warmup`): renderPdf reaches its steady speed
   * only after some 80 renders in a process (V8 compiles its hot code in tiers), and a
   * baseline still warming up renders two or three times slower, which flatters a ratio.
   */
  warmupExports: number;
  /** Idle event streams held open in the idle-listeners scenario. */
  idleListeners: number;
  /** Isolation: exports rendering during the loaded rounds, their pages, and the load's fixed rate. */
  isolationExports: number;
  isolationPages: number;
  isolationRate: number;
  /** Growth: the small and large documents (ratio), the middle one (reported), rounds at the large size. */
  growthPages: [small: number, middle: number, large: number];
  growthRounds: number;
  /** Existing export jobs for the create-at-scale scenario. */
  existingJobs: number;
  /** Fairness: how many exports the flooding user queues, and their pages. */
  floodJobs: number;
  floodPages: number;
  /** How long a server child may take to be ready (the smoke run starts them all at once beside the test suite). */
  startTimeoutMs: number;
  /** Runners on PostgreSQL: exports of the demo document queued per round. */
  runnerExports: number;
  /** Claim-at-scale: queued export jobs the claims are made from. */
  queuedJobs: number;
}

// ---- CPU pinning -------------------------------------------------------------------------

export interface Pinning {
  servers: string;
  load: string;
}

/** Servers on core 0, the load generator (this process) on core 1, when taskset and two cores exist. */
export function detectPinning(): Pinning | undefined {
  if (process.env.BENCH_NO_PIN || process.platform !== 'linux' || availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { servers: '0', load: '1' };
}

/** Moves every thread of process `pid` onto `cores` (a taskset list). */
export function pinProcess(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/** Moves every thread of this process (autocannon included) onto the load core. */
export function pinSelf(pinning: Pinning): void {
  pinProcess(process.pid, pinning.load);
}

// ---- child processes ---------------------------------------------------------------------

const live = new Set<ChildProcess>();

/** Last-resort cleanup (an exception, Ctrl-C): no server may outlive the bench. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface SpawnOptions {
  /** Script path relative to the repository root, run as TypeScript through tsx. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  pinning?: Pinning | undefined;
  /**
   * Every core, for a child that needs more than the servers' one (runner processes side by
   * side): without it a child inherits this process's own pinning, the load generator's core.
   */
  allCores?: boolean;
  /** These cores exactly (a taskset list), over pinning and allCores. */
  cores?: string;
  /** A niceness for the child (nice -n), as the service gives its render threads. */
  niceness?: number;
  /** Directory for a V8 CPU profile of this child (written when it exits). */
  cpuProfDir?: string | undefined;
  extraNodeArgs?: string[];
  ipc?: boolean;
}

function spawnTs(options: SpawnOptions): ChildProcess {
  const nodeArgs = [
    '--import',
    TSX_LOADER,
    ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
    ...(options.extraNodeArgs ?? []),
    join(ROOT, options.script),
    ...(options.args ?? []),
  ];
  // cpus(), not availableParallelism(): the latter counts only the cores this process is pinned to.
  const cores = options.cores ?? (options.pinning ? options.pinning.servers : options.allCores ? `0-${cpus().length - 1}` : undefined);
  // taskset and nice exec what follows in place, so the pid (and an IPC channel) stay the child's own.
  const niced = options.niceness ? ['nice', '-n', String(options.niceness), process.execPath, ...nodeArgs] : [process.execPath, ...nodeArgs];
  const [command, args] = cores ? ['taskset', ['-c', cores, ...niced]] : [niced[0]!, niced.slice(1)];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Keeps the tail of a child's output for error messages, and keeps its pipes drained. */
function captureOutput(child: ChildProcess, onLine?: (line: string) => void): () => string {
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine?.(line);
      }
    });
  }
  return () => tail.join('\n');
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface ServerHandle {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface ServerOptions extends SpawnOptions {
  name: string;
  /**
   * `stdout`: the child listens on port 0 and prints {"port": n} (our bench servers).
   * `health`: we choose a free port, pass PORT, and poll GET /health (server/main.ts, which
   * prints its address only when it seeds the demo user).
   */
  ready: 'stdout' | 'health' | 'log';
  /** `log`: ready once the child logs a JSON line with this `msg` (a runner-only process, which has no port). */
  readyMessage?: string;
  timeoutMs?: number;
  /** Every line the child writes (stdout and stderr), e.g. its log records. */
  onLine?: (line: string) => void;
}

export async function startServer(options: ServerOptions): Promise<ServerHandle> {
  const port = options.ready === 'health' ? await freePort() : 0;
  let announced: ((port: number) => void) | undefined;
  const announcedPort = new Promise<number>((resolve) => (announced = resolve));
  const child = spawnTs({ ...options, env: { HOST: '127.0.0.1', PORT: String(port), ...options.env } });
  const output = captureOutput(child, (line) => {
    options.onLine?.(line);
    if (options.ready === 'health' || !line.startsWith('{')) return;
    try {
      const parsed = JSON.parse(line) as { port?: unknown; msg?: unknown };
      if (options.ready === 'stdout' && typeof parsed.port === 'number') announced?.(parsed.port);
      if (options.ready === 'log' && parsed.msg === options.readyMessage) announced?.(0);
    } catch {
      // Not our announcement (a log line).
    }
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${options.name} exited (${String(code)}) before it was ready:\n${output()}`);
  });
  const ready = options.ready === 'health' ? waitForHealth(port, options.timeoutMs ?? 30_000).then(() => port) : announcedPort;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${options.name} not ready after ${options.timeoutMs ?? 30_000} ms:\n${output()}`)), options.timeoutMs ?? 30_000);
  });
  try {
    const boundPort = await Promise.race([ready, exited, timeout]);
    return { name: options.name, url: `http://127.0.0.1:${boundPort}`, pid: child.pid!, stop: () => stopChild(child) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

async function waitForHealth(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
}

export interface WorkerHandle {
  pid: number;
  request<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * A child that answers IPC requests one at a time (bench/render-child.ts): it stays warm
 * between rounds, like a render worker does between jobs.
 */
export function startWorker(options: SpawnOptions & { name: string }): WorkerHandle {
  const child = spawnTs({ ...options, ipc: true });
  const output = captureOutput(child);
  let queue: Promise<unknown> = Promise.resolve();
  return {
    pid: child.pid!,
    request<T>(message: Record<string, unknown>): Promise<T> {
      const run = async () => {
        const reply = new Promise<T>((resolve, reject) => {
          const onMessage = (raw: unknown) => {
            cleanup();
            const answer = raw as { ok: boolean; value?: T; error?: string };
            if (answer.ok) resolve(answer.value as T);
            else reject(new Error(`${options.name}: ${answer.error}`));
          };
          const onExit = (code: number | null) => {
            cleanup();
            reject(new Error(`${options.name} exited (${String(code)}):\n${output()}`));
          };
          const cleanup = () => {
            child.off('message', onMessage);
            child.off('exit', onExit);
          };
          child.on('message', onMessage);
          child.on('exit', onExit);
        });
        // A child that died before the request: reject with its output, never crash the bench.
        child.send(message, (error) => {
          if (error) child.emit('exit', child.exitCode, child.signalCode);
        });
        return reply;
      };
      const result = queue.then(run, run);
      queue = result.catch(() => {});
      return result;
    },
    stop: () => stopChild(child, 5_000),
  };
}

// ---- CPU accounting ------------------------------------------------------------------------

/** CPU time on the clock per thread of one process (ms by thread id), and which is its main thread. */
export interface CpuReading {
  pid: number;
  threads: Map<string, number>;
}

export interface CpuSpent {
  /** CPU time of the process's threads between two readings, in ms. */
  totalMs: number;
  /** CPU time of its main thread (a Node process's event loop), in ms. */
  mainMs: number;
}

/**
 * Per-thread CPU time from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU).
 * Linux only; undefined elsewhere.
 */
export function readCpu(pid: number): CpuReading | undefined {
  try {
    const threads = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        threads.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
      } catch {
        // The thread ended while we read.
      }
    }
    return { pid, threads };
  } catch {
    return undefined;
  }
}

/**
 * CPU time spent between two readings, over the threads present in both: a thread that
 * started or ended in between is left out (its time before the first reading is unknown,
 * or gone), so work done by long-lived threads is what this measures.
 */
export function cpuSpent(before: CpuReading | undefined, after: CpuReading | undefined): CpuSpent | undefined {
  if (!before || !after || before.pid !== after.pid) return undefined;
  let totalMs = 0;
  for (const [tid, ms] of after.threads) {
    const earlier = before.threads.get(tid);
    if (earlier !== undefined) totalMs += ms - earlier;
  }
  const main = String(after.pid);
  return { totalMs, mainMs: (after.threads.get(main) ?? 0) - (before.threads.get(main) ?? 0) };
}

// ---- load --------------------------------------------------------------------------------

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  /**
   * Open-loop: requests per second over all connections (latency, not capacity). Keep
   * connections few: autocannon starts every connection's timer together, so n connections
   * send in bursts of n that queue behind each other.
   */
  rate?: number;
}

export interface LoadResult {
  /** Successful (2xx) responses per second. */
  rps: number;
  ok: number;
  failed: number;
  /** Of 2xx responses, in ms, from our own samples (autocannon's histogram rounds to whole ms). */
  p50: number;
  p99: number;
  max: number;
}

/** One autocannon run, bounded in time. Any non-2xx or socket error fails the run: we never time errors. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.body !== undefined ? { body: options.body } : {}),
        connections: options.connections,
        duration: options.seconds,
        ...(options.rate ? { overallRate: options.rate } : {}),
        timeout: 30,
      },
      (error, value) => (error ? reject(error) : resolve(value)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) samples.push(ms);
    });
  });
  const failed = result.non2xx + result.errors;
  if (failed > 0) {
    throw new Error(`${options.url}: ${failed} failed requests (${JSON.stringify(result.statusCodeStats)}, ${result.errors} socket errors)`);
  }
  // A round in which nothing was answered measured nothing: say so rather than report 0 req/s
  // and a ratio of 0 or infinity.
  if (result['2xx'] === 0) throw new Error(`${options.url}: no request answered within the ${options.seconds} s round`);
  if (options.rate) correctCoordinatedOmission(samples, (1000 * options.connections) / options.rate);
  samples.sort((a, b) => a - b);
  return {
    rps: result['2xx'] / result.duration,
    ok: result['2xx'],
    failed,
    p50: quantileSorted(samples, 0.5),
    p99: quantileSorted(samples, 0.99),
    max: samples[samples.length - 1] ?? NaN,
  };
}

/**
 * A connection stuck on a slow response does not send the requests it was due to send
 * meanwhile, so their latencies would go missing from an open-loop run. Add them back as
 * HdrHistogram's recordValueWithExpectedInterval (and autocannon's own histogram) does.
 */
function correctCoordinatedOmission(samples: number[], intervalMs: number): void {
  const measured = samples.length;
  for (let i = 0; i < measured; i++) {
    for (let missing = samples[i]! - intervalMs; missing >= intervalMs; missing -= intervalMs) samples.push(missing);
  }
}

// ---- rounds and statistics ---------------------------------------------------------------

/**
 * Subject and baseline in alternating order (A B, B A, A B, ...), so that a machine
 * getting slower or faster during the run does not favour whichever always goes first.
 */
export async function interleave<T>(rounds: number, subject: (round: number) => Promise<T>, baseline: (round: number) => Promise<T>): Promise<Array<{ subject: T; baseline: T }>> {
  const out = await rotate(rounds, [subject, baseline]);
  return out.map(([a, b]) => ({ subject: a!, baseline: b! }));
}

/**
 * Several arms per round, each round starting one arm later than the round before (A B C,
 * B C A, C A B, ...), for the reason interleave gives. Each round's results in the arms' order.
 */
export async function rotate<T>(rounds: number, arms: ReadonlyArray<(round: number) => Promise<T>>): Promise<T[][]> {
  const out: T[][] = [];
  for (let round = 0; round < rounds; round++) {
    const results: T[] = new Array<T>(arms.length);
    for (let k = 0; k < arms.length; k++) {
      const arm = (round + k) % arms.length;
      results[arm] = await arms[arm]!(round);
    }
    out.push(results);
  }
  return out;
}

function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export const median = (values: readonly number[]): number => quantileSorted([...values].sort((a, b) => a - b), 0.5);

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- results -----------------------------------------------------------------------------

export interface Target {
  /** What the target constrains: the per-round ratio's median, or the subject's own median. */
  on: 'ratio' | 'subject';
  op: '>=' | '<=';
  value: number;
}

export interface Entry {
  name: string;
  title: string;
  unit: string;
  /** Medians over the rounds; the ratio is subject / baseline per round, then its median. */
  subject: number;
  baseline: number;
  ratio: number;
  subjectRange: [number, number];
  baselineRange: [number, number];
  ratioRange: [number, number];
  rounds: number;
  target: string;
  met: boolean;
  details: Record<string, unknown>;
}

function describeTarget(target: Target, unit: string): string {
  return target.on === 'ratio' ? `ratio ${target.op} ${target.value}` : `${target.op} ${target.value} ${unit}`;
}

export function entry(options: {
  name: string;
  title: string;
  unit: string;
  subject: readonly number[];
  baseline: readonly number[];
  target: Target;
  details?: Record<string, unknown>;
}): Entry {
  const { subject, baseline, target } = options;
  if (subject.length !== baseline.length || subject.length === 0) throw new Error(`${options.name}: unpaired rounds`);
  const ratios = subject.map((s, i) => s / baseline[i]!);
  const s = spread(subject);
  const b = spread(baseline);
  const r = spread(ratios);
  const measured = target.on === 'ratio' ? r.median : s.median;
  const met = target.op === '>=' ? measured >= target.value : measured <= target.value;
  return {
    name: options.name,
    title: options.title,
    unit: options.unit,
    subject: s.median,
    baseline: b.median,
    ratio: r.median,
    subjectRange: [s.min, s.max],
    baselineRange: [b.min, b.max],
    ratioRange: [r.min, r.max],
    rounds: subject.length,
    target: describeTarget(target, options.unit),
    met,
    details: options.details ?? {},
  };
}

export interface Stoppable {
  stop(): Promise<void>;
}

export interface Lease<T> {
  value: T;
  release(): Promise<void>;
}

export interface ProcessPool {
  /**
   * The process already started under `key` when sharing (see Settings.shareProcesses),
   * else a fresh one from `start`, stopped on release. `fresh` ones are shared only when
   * everything is (the smoke run).
   */
  acquire<T extends Stoppable>(key: string, start: () => Promise<T>, options?: { fresh?: boolean }): Promise<Lease<T>>;
  stopAll(): Promise<void>;
}

export function createProcessPool(settings: Pick<Settings, 'shareProcesses' | 'concurrent'>): ProcessPool {
  const shared = new Map<string, Promise<Stoppable>>();
  return {
    async acquire<T extends Stoppable>(key: string, start: () => Promise<T>, options: { fresh?: boolean } = {}): Promise<Lease<T>> {
      const share = settings.concurrent || (settings.shareProcesses && !options.fresh);
      if (!share) {
        const value = await start();
        return { value, release: () => value.stop() };
      }
      let started = shared.get(key);
      if (!started) {
        started = start();
        shared.set(key, started);
      }
      return { value: (await started) as T, release: async () => {} };
    },
    async stopAll() {
      await Promise.allSettled([...shared.values()].map((started) => started.then((value) => value.stop())));
      shared.clear();
    },
  };
}

export interface BenchContext {
  processes: ProcessPool;
  settings: Settings;
  pinning: Pinning | undefined;
  /** Scratch directory for this run's databases and files. */
  workDir: string;
  /** When set, subject servers write V8 CPU profiles here. */
  profileDir: string | undefined;
  log(message: string): void;
}
