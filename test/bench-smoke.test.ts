/**
 * `npm run bench` still works: every scenario runs end to end at the smallest size (servers
 * in child processes, autocannon, render children) and reports a numeric figure. No timing
 * is asserted: the figures of a smoke run mean nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// The entries bench/README.md documents, in the order the bench reports them.
const ENTRIES = [
  'rest-create-throughput',
  'rest-create-p99',
  'trpc-create-throughput',
  'render-throughput',
  'render-scripts-throughput',
  'e2e-latency',
  'isolation-p99',
  'render-growth-per-page',
  'render-peak-rss',
  'create-at-scale',
  'fairness-latency',
  'claim-at-scale',
  'e2e-watch-latency',
  'idle-listeners-cpu',
  'rest-create-pg-throughput',
  'rest-create-pg-p99',
  'runners-pg-throughput',
  'notify-commits',
];

interface ResultsFile {
  mode: string;
  entries: Array<Record<string, unknown>>;
}

describe('npm run bench -- --smallest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'runs every scenario and writes a figure, a baseline and a ratio for each',
    async () => {
      const out = join(dir, 'results.json');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, 'bench/run.ts', '--smallest', '--out', out], {
        cwd: root,
        // A run is ~20-30 s on two idle cores; the bound is for a machine busy with the rest of the suite.
        timeout: 170_000,
        maxBuffer: 16 * 1024 * 1024,
      });

      const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
      expect(results.mode).toBe('smallest');
      expect(results.entries.map((entry) => entry.name)).toEqual(ENTRIES);
      for (const entry of results.entries) {
        for (const field of ['subject', 'baseline', 'ratio'] as const) {
          expect(Number.isFinite(entry[field]), `${String(entry.name)}.${field} = ${String(entry[field])}`).toBe(true);
        }
        expect(entry.subject as number, `${String(entry.name)}.subject`).toBeGreaterThan(0);
        expect(entry.baseline as number, `${String(entry.name)}.baseline`).toBeGreaterThan(0);
        expect(typeof entry.unit).toBe('string');
        expect(entry.target).toMatch(/^(ratio )?(>=|<=) \d/);
        expect(typeof entry.met).toBe('boolean');
      }

      // e2e-watch measures, in its rounds, the same export through the floor server (bench/servers/floor-export.ts).
      const watch = results.entries.find((entry) => entry.name === 'e2e-watch-latency')!;
      const details = watch.details as { floorMs?: unknown; floorRatio?: unknown; overFloor?: unknown };
      for (const field of ['floorMs', 'floorRatio', 'overFloor'] as const) {
        expect(details[field], `e2e-watch-latency.details.${field}`).toBeGreaterThan(0);
        expect(Number.isFinite(details[field]), `e2e-watch-latency.details.${field}`).toBe(true);
      }

      // The Markdown table on stdout has a row per entry, with its figures.
      for (const name of ENTRIES) expect(stdout).toMatch(new RegExp(`^\\| \\*\\*${name}\\*\\*.* \\| [\\d,.]+ \\S+.* \\| [\\d,.]+ \\S+.* \\| [\\d.]+.* \\|`, 'm'));
    },
    180_000,
  );
});
