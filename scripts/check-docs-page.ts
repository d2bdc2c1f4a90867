/**
 * `npm run check:docs-page`: the API reference page as a browser shows it. Starts the service
 * (in this process, on 127.0.0.1 and a free port, over a throwaway database), loads /docs in
 * headless Chromium with every host but 127.0.0.1 unresolvable (so the page must render from
 * this machine alone, as it does offline), and checks the rendered page: each of the six
 * operations' paths is there, and no script, style sheet or image comes from elsewhere.
 * Needs Chromium (Debian: apt-get install chromium; or CHROMIUM=/path/to/chrome). Not part of
 * npm test. `-- --screenshot FILE` also saves a picture of the page.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { openSqliteBackend } from '../server/stores/sqlite/index.js';
import { DOCS_PAGE_URL } from '../server/operating/api-docs.js';
import { buildApp } from '../server/app.js';
import { createDeps } from '../server/deps.js';
import { createFileStore } from '../server/files/store.js';
import { openApiPathOf } from '../server/operating/openapi.js';
import { REST_ROUTES } from '../server/rest.js';

const run = promisify(execFile);
const chromium = process.env.CHROMIUM ?? 'chromium';
const screenshotAt = process.argv.indexOf('--screenshot');
const screenshot = screenshotAt > 0 ? process.argv[screenshotAt + 1] : undefined;

/** Flags for a headless run as root in a container, with no host but this one reachable. */
const browserFlags = (extra: string[], url: string) => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  // Time for swagger-ui to fetch the document and render it before the DOM is taken.
  '--virtual-time-budget=15000',
  ...extra,
  url,
];

/** Problems with the rendered page, as messages (none: it passed). */
function pageProblems(dom: string, origin: string): string[] {
  const problems: string[] = [];
  for (const route of REST_ROUTES) {
    const path = openApiPathOf(route.url);
    if (!dom.includes(`data-path="${path}"`)) problems.push(`${route.name}: ${route.method} ${path} is not on the page`);
  }
  for (const [, attribute, url] of dom.matchAll(/\b(src|href)="([^"]*)"/g)) {
    if (url!.startsWith('#') || url!.startsWith('data:') || url!.startsWith('/')) continue;
    if (!url!.startsWith(`${origin}/`)) problems.push(`${attribute}="${url}" points off this machine`);
  }
  return problems;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-docs-page-'));
  const backend = openSqliteBackend(join(dir, 'notepad.db'));
  const logger = pino({ level: 'warn' });
  const deps = createDeps({ stores: backend.stores, logger });
  const app = await buildApp({ deps, files: await createFileStore(join(dir, 'files')), logger });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (typeof address !== 'object' || !address) throw new Error('the server has no address');
    const origin = `http://127.0.0.1:${address.port}`;
    const url = `${origin}${DOCS_PAGE_URL}`;
    const { stdout: dom } = await run(chromium, browserFlags(['--dump-dom'], url), { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    if (screenshot) await run(chromium, browserFlags(['--window-size=1280,1400', `--screenshot=${screenshot}`], url), { timeout: 60_000 });
    const problems = pageProblems(dom, origin);
    for (const problem of problems) process.stderr.write(`FAIL ${problem}\n`);
    if (problems.length === 0) {
      process.stdout.write(`ok: ${url} rendered in headless Chromium from this machine alone, with all ${REST_ROUTES.length} operations:\n`);
      for (const route of REST_ROUTES) process.stdout.write(`  ${route.method.padEnd(4)} ${openApiPathOf(route.url)}\n`);
      if (screenshot) process.stdout.write(`screenshot: ${screenshot}\n`);
    }
    return problems.length === 0 ? 0 : 1;
  } finally {
    await app.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`check:docs-page failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
