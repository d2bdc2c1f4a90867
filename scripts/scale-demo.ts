/**
 * `npm run scale:demo`: the scale-out topology on one machine, to try (docs/SCALING.md).
 * Starts a throwaway PostgreSQL and S3 server (scripts/test-backends), makes a bucket, seeds
 * the demo user, token and document, then starts two api processes and two runner processes
 * (npm start's server/main.ts with NOTEPAD_ROLE api / runner) on them, and prints the ports,
 * the token and curl commands. Ctrl-C (SIGINT) or SIGTERM stops every process it started and
 * removes all the data; it exits 0 when everything stopped cleanly.
 *
 * Every process's log goes to a file in the demo's directory (printed), not the terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { redactUrl } from '../server/config.js';
import { createDeps } from '../server/deps.js';
import { seedDemoIfEmpty } from '../server/seed.js';
import { openPgBackend } from '../server/stores/pg/index.js';
import { startBackendsProcess, type RunningBackends } from './test-backends/protocol.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'server/main.ts');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const BUCKET = 'notepad-demo';
const API_NODES = 2;
const RUNNER_NODES = 2;
/** How long a process may take to start on a busy machine, and to stop after SIGTERM. */
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;

interface Node {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves once it listens (api: with its base URL) or has started (runner). */
  ready: Promise<string | undefined>;
}

const out = (text: string) => process.stdout.write(text);

/** Spawns server/main.ts with `env`, its output to `<logDir>/<name>.log`. */
function spawnNode(name: string, env: Record<string, string>, logDir: string): Node {
  const proc = spawn(process.execPath, ['--import', tsxLoader, MAIN], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  proc.stdout!.pipe(log, { end: false });
  proc.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  const ready = new Promise<string | undefined>((resolveReady, fail) => {
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let record: { msg?: unknown; role?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      const listening = typeof record.msg === 'string' ? /^Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(record.msg) : null;
      if (listening) resolveReady(listening[1]!);
      if (record.msg === 'notepad-export started' && record.role === 'runner') resolveReady(undefined);
    });
    void exited.then((code) => fail(new Error(`${name} exited with ${code} while starting; see ${logFile}`)));
    setTimeout(() => fail(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms; see ${logFile}`)), START_TIMEOUT_MS).unref();
  });
  // Whoever awaits it, a failed start is reported once, by main.
  ready.catch(() => {});
  return { name, proc, exited, ready };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'notepad-scale-demo-'));
  const nodes: Node[] = [];
  let backends: RunningBackends | undefined;
  let stopping: Promise<number> | undefined;
  let stopRequested!: (stopped: Promise<number>) => void;
  const stopRequest = new Promise<Promise<number>>((resolveRequest) => (stopRequested = resolveRequest));

  // Stops the nodes first (they finish or give back their jobs), then the database and S3
  // server, then removes the data. Once, whichever signal or failure asks first.
  const stop = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      out(`\n${reason}: stopping ${nodes.length} processes, then PostgreSQL and S3...\n`);
      let clean = true;
      await Promise.all(
        nodes.map(async (node) => {
          if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGTERM');
          const timer = setTimeout(() => node.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
          const code = await node.exited;
          clearTimeout(timer);
          // A terminal's Ctrl-C reaches the nodes too (one process group): they exit 0 on it as on SIGTERM.
          if (code !== 0) {
            clean = false;
            out(`  ${node.name} exited with ${code ?? node.proc.signalCode}\n`);
          }
        }),
      );
      await backends?.stop();
      rmSync(dir, { recursive: true, force: true });
      out(`Stopped; ${dir} and the PostgreSQL and S3 data are removed.\n`);
      return clean ? 0 : 1;
    })();
    stopRequested(stopping);
    return stopping;
  };

  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    out('Starting a throwaway PostgreSQL and S3 server...\n');
    backends = await startBackendsProcess();
    if (stopping) return await stopping;
    const { postgresUrl, s3 } = backends.backends;
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3 });
    try {
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    } finally {
      client.destroy();
    }

    // Migrate and seed once, before the nodes start: the demo user, its token and document.
    const backend = await openPgBackend(postgresUrl, { pool: 2 });
    const seed = await seedDemoIfEmpty(createDeps({ stores: backend.stores })).finally(() => backend.close());
    if (!seed) throw new Error('the throwaway database was not empty');

    const env = {
      NOTEPAD_DB: postgresUrl,
      NOTEPAD_DB_POOL: '4',
      NOTEPAD_FILES: `s3://${BUCKET}/pdfs`,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      NOTEPAD_S3_FORCE_PATH_STYLE: 'true',
    };
    if (stopping) return await stopping;
    out(`Starting ${API_NODES} api and ${RUNNER_NODES} runner processes (logs in ${dir})...\n`);
    const roles = [...Array<string>(API_NODES).fill('api'), ...Array<string>(RUNNER_NODES).fill('runner')];
    roles.forEach((role, i) => {
      const node = spawnNode(`${role}-${role === 'api' ? i + 1 : i - API_NODES + 1}`, { ...env, NOTEPAD_ROLE: role }, dir);
      nodes.push(node);
      // A node that dies on its own takes the demo down: half a topology would mislead.
      void node.exited.then((code) => void stop(`${node.name} exited with ${code}`));
    });
    const urls = await Promise.all(nodes.map((node) => node.ready));
    if (stopping) return await stopping;
    const apis = urls.filter((url): url is string => url !== undefined);
    const [first, second] = [apis[0]!, apis[apis.length - 1]!];
    const body = JSON.stringify({
      exportJobSource: { type: 'documentSource', documentRid: seed.documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' },
    });
    out(`
notepad-export scale-out demo: ${API_NODES} api nodes and ${RUNNER_NODES} runner nodes on one PostgreSQL database and one S3 bucket.
  postgres    ${redactUrl(postgresUrl)} (pid ${backends.backends.owner?.postgresPid ?? '?'}, data in ${backends.backends.owner?.dir ?? '?'})
  s3          ${s3.endpoint}, bucket ${BUCKET}, keys under pdfs/ (backends pid ${backends.proc.pid})
${nodes.map((node, i) => `  ${node.name.padEnd(10)}  ${urls[i] ?? 'claims and renders jobs'} (pid ${node.proc.pid}, log ${join(dir, `${node.name}.log`)})`).join('\n')}

Demo user token (export and write scopes, for 24 hours):
  export TOKEN=${seed.token}
  export API1=${first} API2=${second}

1. Create an export through one api node:
  curl -s -X POST "$API1/api/v2/notepad/exportJobs/create?preview=true" -H "Authorization: Bearer $TOKEN" \\
    -H "Content-Type: application/json" -d '${body}'
2. Poll it through the other until status.type is "succeeded" (one of the runners renders it):
  curl -s "$API2/api/v2/notepad/exportJobs/<exportJobRid>?preview=true" -H "Authorization: Bearer $TOKEN"
3. Download the PDF through either (status.fileRid from step 2):
  curl -s -o report.pdf "$API2/api/v2/notepad/files/<fileRid>/content?preview=true" -H "Authorization: Bearer $TOKEN"

Ctrl-C stops every process and removes the data.
Ready.
`);
    return await (await stopRequest);
  } catch (error) {
    out(`scale demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop('failure');
    return 1;
  }
}

main().then((code) => process.exit(code));
