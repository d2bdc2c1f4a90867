/**
 * npm run bench [-- --quick | --smallest] [--only name,name] [--out file] [--profile] [--no-pin]
 *
 * Every scenario measures the service against a baseline in the same run, in alternating
 * rounds, and reports medians, ranges and the median per-round ratio. Prints a Markdown
 * table and writes bench/results.json. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, ROOT, createProcessPool, detectPinning, killAllChildren, pinSelf, type BenchContext, type Entry, type ModeName, type Settings } from './harness.js';
import { e2eLatencyScenario } from './scenarios/e2e-latency.js';
import { claimAtScaleScenario, fairnessScenario } from './scenarios/fairness.js';
import { createAtScaleScenario, renderGrowthScenario } from './scenarios/growth.js';
import { isolationScenario } from './scenarios/isolation.js';
import { notifyCommitsScenario, restCreatePgScenario, runnersPgScenario } from './scenarios/postgres.js';
import { renderScriptsScenario } from './scenarios/render-scripts.js';
import { renderThroughputScenario } from './scenarios/render-throughput.js';
import { restCreateScenario } from './scenarios/rest-create.js';
import { trpcCreateScenario } from './scenarios/trpc-create.js';
import { e2eWatchScenario, idleListenersScenario } from './scenarios/watch.js';

const MODES: Record<ModeName, Settings> = {
  full: {
    mode: 'full',
    rounds: 5,
    renderRounds: 3,
    loadSeconds: 2,
    warmup: true,
    warmupSeconds: 2,
    shareProcesses: false,
    concurrent: false,
    connections: 64,
    renderPages: 200,
    scriptPages: 50,
    e2eExports: 5,
    warmupExports: 100,
    idleListeners: 500,
    isolationExports: 4,
    isolationPages: 300,
    isolationRate: 100,
    growthPages: [100, 1000, 2000],
    growthRounds: 3,
    existingJobs: 1_000_000,
    floodJobs: 120,
    floodPages: 30,
    queuedJobs: 1_000_000,
    runnerExports: 200,
    startTimeoutMs: 30_000,
  },
  quick: {
    mode: 'quick',
    rounds: 3,
    renderRounds: 2,
    loadSeconds: 1,
    warmup: true,
    warmupSeconds: 1,
    shareProcesses: true,
    concurrent: false,
    connections: 64,
    renderPages: 50,
    scriptPages: 50,
    e2eExports: 3,
    warmupExports: 40,
    idleListeners: 500,
    isolationExports: 4,
    isolationPages: 30,
    isolationRate: 100,
    growthPages: [20, 100, 200],
    growthRounds: 2,
    existingJobs: 100_000,
    floodJobs: 40,
    floodPages: 30,
    queuedJobs: 100_000,
    runnerExports: 100,
    startTimeoutMs: 30_000,
  },
  // Proves the machinery end to end (the smoke test); its figures mean nothing.
  smallest: {
    mode: 'smallest',
    rounds: 1,
    renderRounds: 1,
    // All scenarios at once on two cores: a half-second round could end before a loaded
    // server answered its first request, leaving a round of 0 req/s and no ratio.
    loadSeconds: 2,
    warmup: false,
    warmupSeconds: 0,
    shareProcesses: true,
    concurrent: true,
    connections: 8,
    renderPages: 2,
    scriptPages: 2,
    e2eExports: 1,
    warmupExports: 0,
    idleListeners: 5,
    isolationExports: 1,
    isolationPages: 2,
    isolationRate: 20,
    growthPages: [1, 2, 3],
    growthRounds: 1,
    existingJobs: 1_000,
    floodJobs: 2,
    floodPages: 1,
    queuedJobs: 1_000,
    runnerExports: 2,
    startTimeoutMs: 120_000,
  },
};

interface Scenario {
  name: string;
  run: (ctx: BenchContext) => Promise<Entry[]>;
}

// In issue order: the entries each yields are listed in bench/README.md.
const SCENARIOS: Scenario[] = [
  { name: 'rest-create', run: restCreateScenario },
  { name: 'trpc-create', run: trpcCreateScenario },
  { name: 'render-throughput', run: renderThroughputScenario },
  { name: 'render-scripts', run: renderScriptsScenario },
  { name: 'e2e-latency', run: e2eLatencyScenario },
  { name: 'isolation', run: isolationScenario },
  { name: 'render-growth', run: renderGrowthScenario },
  { name: 'create-at-scale', run: createAtScaleScenario },
  { name: 'fairness', run: fairnessScenario },
  { name: 'claim-at-scale', run: claimAtScaleScenario },
  { name: 'e2e-watch', run: e2eWatchScenario },
  { name: 'idle-listeners', run: idleListenersScenario },
  { name: 'rest-create-pg', run: restCreatePgScenario },
  { name: 'runners-pg', run: runnersPgScenario },
  { name: 'notify-commits', run: notifyCommitsScenario },
];

const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function range([min, max]: [number, number], rounds: number): string {
  return rounds > 1 ? ` (${fmt(min)}–${fmt(max)})` : '';
}

function markdownTable(entries: Entry[]): string {
  const rows = [
    '| scenario | subject | baseline | ratio | target | met |',
    '|---|---|---|---|---|---|',
    ...entries.map((e) =>
      [
        `**${e.name}**<br>${e.title}`,
        `${fmt(e.subject)} ${e.unit}${range(e.subjectRange, e.rounds)}`,
        `${fmt(e.baseline)} ${e.unit}${range(e.baselineRange, e.rounds)}`,
        `${e.ratio.toFixed(2)}${e.rounds > 1 ? ` (${e.ratioRange[0].toFixed(2)}–${e.ratioRange[1].toFixed(2)})` : ''}`,
        e.target,
        e.met ? 'yes' : '**no**',
      ].join(' | '),
    ).map((row) => `| ${row} |`),
  ];
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smallest: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const mode: ModeName = values.smallest ? 'smallest' : values.quick ? 'quick' : 'full';
  const settings = MODES[mode];
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIO_NAMES.includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; choose from ${SCENARIO_NAMES.join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));

  // The smoke test runs beside the rest of the suite: one core each would only slow it down.
  const pinning = values['no-pin'] || mode === 'smallest' ? undefined : detectPinning();
  if (pinning) pinSelf(pinning);
  const workDir = mkdtempSync(join(tmpdir(), 'notepad-bench-'));
  const started = new Date();
  const profileDir = values.profile ? join(BENCH_DIR, 'profiles', started.toISOString().replace(/[:.]/g, '-')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);
  const processes = createProcessPool(settings);
  const ctx: BenchContext = { processes, settings, pinning, workDir, profileDir, log };

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const pinned = pinning
    ? `servers and render processes pinned to core ${pinning.servers}, load generator (this process) to core ${pinning.load} (taskset)`
    : 'not pinned (no taskset, fewer than 2 cores, --no-pin or --smallest)';
  log(`mode ${mode}; ${cpus().length} × ${cpu}; node ${process.version}; ${pinned}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const runOne = async (scenario: Scenario) => {
    log(`${scenario.name} ...`);
    const t0 = Date.now();
    const result = await scenario.run(ctx);
    log(`${scenario.name} done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return result;
  };
  const entries: Entry[] = [];
  try {
    if (settings.concurrent) entries.push(...(await Promise.all(scenarios.map(runOne))).flat());
    else for (const scenario of scenarios) entries.push(...(await runOne(scenario)));
  } finally {
    await processes.stopAll();
    killAllChildren();
    rmSync(workDir, { recursive: true, force: true });
  }

  const durationS = (Date.now() - started.getTime()) / 1000;
  const out = resolve(values.out ?? join(BENCH_DIR, 'results.json'));
  const header = [
    `notepad-export bench, mode **${mode}**${mode === 'quick' ? ` (shorter rounds, smaller documents, ${settings.existingJobs.toLocaleString('en-US')} existing jobs instead of 1,000,000)` : ''}, ${started.toISOString()}, ${durationS.toFixed(0)} s`,
    `${cpus().length} × ${cpu}, node ${process.version}; ${pinned}; load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    `Figures are medians over alternating rounds (${settings.rounds} per load scenario, ${settings.renderRounds} for render throughput and isolation, ${settings.growthRounds} for growth) with their min–max; ratio = subject / baseline per round, median.`,
  ];
  writeFileSync(
    out,
    `${JSON.stringify(
      { mode, startedAt: started.toISOString(), durationS, node: process.version, cpus: cpus().length, cpu, pinning: pinned, settings, entries },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\n${header.join('\n')}\n\n${markdownTable(entries)}\n\n`);
  log(`wrote ${relative(ROOT, out) || out}${profileDir ? `; CPU profiles in ${relative(ROOT, profileDir)}` : ''}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  killAllChildren();
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
