/**
 * Many nodes on PostgreSQL + S3 (docs/SCALING.md), in real processes: two api processes and
 * two runner processes (npm start's server/main.ts, NOTEPAD_ROLE api and runner) share one
 * database and one bucket. Its own PostgreSQL and S3 (a backends process of
 * scripts/test-backends, not the shared one: this test stops its PostgreSQL).
 *
 * 1. Creates spread over both api nodes under concurrent load; one runner is SIGKILLed while
 *    it renders. Every job succeeds and is rendered once (attempt 1), except those the dead
 *    runner held, which the other runner takes over when their leases lapse (attempt 2);
 *    one file row and one S3 object per job; every file downloads through either api node,
 *    byte for byte the stored object.
 * 2. A new runner joins; PostgreSQL stops while jobs are rendering. Meanwhile every request
 *    is answered, within a bound, with the contract's 500 INTERNAL body (or 503 from /ready),
 *    and no process dies. PostgreSQL starts again: the pools and the runners' LISTEN
 *    connections come back, the runners finish what was in flight, and new creates through
 *    both api nodes succeed. Every job ends once, succeeded.
 *
 * MULTI_NODE_CREATES sets phase 1's creates for a longer run (npm run reliability).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackendsProcess, type RunningBackends } from '../scripts/test-backends/protocol.js';
import { runCli } from '../server/cli.js';
import { sleep, startServerProcess, type ServerProcess } from './process-helpers.js';
import { recordReliability } from './reliability-record.js';

// Below the issue's count in npm test: the full count takes longer than a test should on the
// shared two-core machine (test/RELIABILITY.md); npm run reliability runs it.
const CREATES = Number(process.env.MULTI_NODE_CREATES ?? 100);
/** Phase 2: jobs created before the database stops, and through each api node after it is back. */
const CREATES_BEFORE_RESTART = 40;
const CREATES_AFTER_RESTART_PER_API = 10;
/** Requests in flight per api node. */
const CONCURRENCY = 8;
/**
 * Every request's bound: far above any answer on a loaded machine, far below "forever". A
 * request that reaches it is a hang, and the test fails on it.
 */
const REQUEST_BOUND_MS = 30_000;
/**
 * Short leases, so the dead runner's jobs are taken over soon; long enough that a live
 * runner on a loaded two-core machine still renews in time (it renews every third of it).
 */
const LEASE_MS = 5_000;
const BUCKET = 'multi-node';
const PREFIX = 'pdfs/';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let backends: RunningBackends | undefined;
let inspect: pg.Pool | undefined;
let s3: S3Client | undefined;
const servers: ServerProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'notepad-multi-node-'));

afterAll(async () => {
  // Every process this file started goes, pass or fail.
  await Promise.allSettled(servers.map((server) => server.kill('SIGKILL')));
  // MULTI_NODE_LOG_DIR: each process's log lines, to read after a failure.
  const logDir = process.env.MULTI_NODE_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    servers.forEach((server, i) => writeFileSync(join(logDir, `process-${i}.log`), server.logs.map((line) => JSON.stringify(line)).join('\n')));
  }
  await inspect?.end().catch(() => {});
  s3?.destroy();
  await backends?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

interface Answer {
  status: number;
  body: Buffer;
  /** Set when the request failed without an answer: the bound was hit ('timeout'), or the connection failed. */
  failure?: string;
}

/** Requests that hit REQUEST_BOUND_MS (or got no answer at all); must stay empty. */
const unanswered: string[] = [];

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_BOUND_MS) });
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
  } catch (error) {
    const failure = (error as Error).name === 'TimeoutError' ? 'timeout' : String((error as Error).cause ?? error);
    unanswered.push(`${init.method ?? 'GET'} ${url}: ${failure}`);
    return { status: 0, body: Buffer.alloc(0), failure };
  }
}

const json = (answer: Answer) => JSON.parse(answer.body.toString()) as Record<string, unknown>;

describe('two api and two runner processes on one PostgreSQL database and one bucket', () => {
  let url = '';
  let token = '';
  let documentRid = '';
  let env: Record<string, string> = {};

  beforeAll(async () => {
    backends = await startBackendsProcess();
    const admin = new pg.Client({ connectionString: backends.backends.postgresUrl });
    await admin.connect();
    await admin.query('create database notepad');
    await admin.end();
    const dbUrl = new URL(backends.backends.postgresUrl);
    dbUrl.pathname = '/notepad';
    url = dbUrl.href;
    inspect = new pg.Pool({ connectionString: url, max: 2 });
    // The restart terminates its connections too; the pool replaces them.
    inspect.on('error', () => {});

    const { endpoint, region, accessKeyId, secretAccessKey } = backends.backends.s3;
    s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

    // The CLI migrates and seeds, as an operator would.
    const cli = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli([...args, '--json'], { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { ...process.env, NOTEPAD_DB: url } });
      expect(err).toBe('');
      expect(code).toBe(0);
      return JSON.parse(out) as Record<string, string>;
    };
    const { userId } = await cli(['users', 'create', '--name', 'Many Nodes']);
    token = (await cli(['tokens', 'create', '--user', userId!, '--scopes', 'api:notepad-export'])).token!;
    const markdown = join(dir, 'doc.md');
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i + 1}: rendered by one of two runners, stored in one bucket, served by either api node.`);
    writeFileSync(markdown, `# Many nodes\n\n${paragraphs.join('\n\n')}\n`);
    documentRid = (await cli(['documents', 'create', '--title', 'Many nodes', '--markdown', markdown, '--owner', userId!])).documentRid!;

    env = {
      NOTEPAD_DB: url,
      NOTEPAD_DB_POOL: '4',
      NOTEPAD_FILES: `s3://${BUCKET}/${PREFIX}`,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_ENDPOINT_URL_S3: endpoint,
      NOTEPAD_S3_FORCE_PATH_STYLE: 'true',
      NOTEPAD_JOB_LEASE_MS: String(LEASE_MS),
      NOTEPAD_JOB_CONCURRENCY: '2',
      // One token makes every request here: the per-token limit is not what is tested.
      NOTEPAD_RATE_LIMIT: 'off',
      NOTEPAD_SUMMARY_INTERVAL_MS: '0',
    };
  }, 240_000);

  const startApi = async () => {
    const server = await startServerProcess({ ...env, NOTEPAD_ROLE: 'api' }, 120_000);
    servers.push(server);
    return server;
  };
  const startRunner = async () => {
    const server = await startServerProcess({ ...env, NOTEPAD_ROLE: 'runner' }, 120_000);
    servers.push(server);
    const owner = server.logs.find((line) => line.msg === 'notepad-export started')?.runner;
    expect(typeof owner).toBe('string');
    return { server, owner: owner as string };
  };

  const createBody = () =>
    JSON.stringify({
      exportJobSource: { type: 'documentSource', documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
    });
  const create = (api: ServerProcess) =>
    request(`${api.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: createBody(),
    });

  /** `count` creates, CONCURRENCY at a time per api node, taking turns between the nodes. */
  async function createMany(apis: ServerProcess[], count: number): Promise<{ rids: string[]; statuses: Record<number, number> }> {
    const rids: string[] = [];
    const statuses: Record<number, number> = {};
    let next = 0;
    await Promise.all(
      apis.flatMap((api) =>
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < count) {
            next++;
            const answer = await create(api);
            statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
            if (answer.status === 200) rids.push(json(answer).rid as string);
          }
        }),
      ),
    );
    return { rids, statuses };
  }

  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await inspect!.query<T>(text, values)).rows;

  async function waitUntilNoneRunning(what: string): Promise<void> {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const [row] = await query<{ n: string }>("select count(*) as n from export_jobs where status = 'running'");
      if (Number(row!.n) === 0) return;
      if (Date.now() > deadline) throw new Error(`${what}: ${row!.n} jobs still running`);
      await sleep(200);
    }
  }

  async function storedObjects(): Promise<Map<string, string>> {
    const objects = new Map<string, string>();
    let continuationToken: string | undefined;
    do {
      const page = await s3!.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX, ContinuationToken: continuationToken }));
      for (const object of page.Contents ?? []) objects.set(object.Key!, '');
      continuationToken = page.NextContinuationToken;
    } while (continuationToken);
    return objects;
  }

  /** Each job's file, through every api node: 200, a PDF, byte for byte the object in the bucket. */
  async function checkDownloads(apis: ServerProcess[], jobs: Array<{ file_rid: string; storage_key: string; sha256: string }>): Promise<number> {
    let downloads = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          const object = await s3!.send(new GetObjectCommand({ Bucket: BUCKET, Key: PREFIX + job.storage_key }));
          const stored = sha256(await object.Body!.transformToByteArray());
          expect(stored).toBe(job.sha256);
          for (const api of apis) {
            const answer = await request(`${api.baseUrl}/api/v2/notepad/files/${job.file_rid}/content?preview=true`, { headers: { authorization: `Bearer ${token}` } });
            expect(answer.status).toBe(200);
            expect(answer.body.subarray(0, 5).toString()).toBe('%PDF-');
            expect(sha256(answer.body)).toBe(stored);
            downloads++;
          }
        }
      }),
    );
    return downloads;
  }

  /** How many 'export job succeeded' lines each job has over the given processes' logs. */
  const successLines = (runners: ServerProcess[]) => {
    const counts = new Map<string, number>();
    for (const line of runners.flatMap((runner) => runner.logs)) {
      if (line.msg === 'export job succeeded') counts.set(line.exportJobRid as string, (counts.get(line.exportJobRid as string) ?? 0) + 1);
    }
    return counts;
  };
  /** A runner logs after its commit and stdout may lag the row: wait for the lines before counting them. */
  async function waitForSuccessLines(runners: ServerProcess[], rids: string[]): Promise<Map<string, number>> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const counts = successLines(runners);
      if (rids.every((rid) => counts.has(rid)) || Date.now() > deadline) return counts;
      await sleep(100);
    }
  }

  it('render every job once, survive a runner killed mid-render and a PostgreSQL restart, and serve every file from either api node', { timeout: 1_200_000 }, async () => {
    const started = Date.now();
    const [apiA, apiB, runnerA, runnerB] = await Promise.all([startApi(), startApi(), startRunner(), startRunner()]);
    const apis = [apiA, apiB];

    // --- Phase 1: load over both api nodes; runner B dies in the middle of a render. ------
    const phase1Start = Date.now();
    let killedAt: { succeeded: number; held: string[]; at: number } | undefined;
    const load = createMany(apis, CREATES);
    // Kill once a fair share is done, at a moment runner B holds a live lease (it is rendering).
    const killThreshold = Math.max(4, Math.floor(CREATES / 5));
    for (;;) {
      const [row] = await query<{ succeeded: string; held: string }>(
        `select count(*) filter (where status = 'succeeded') as succeeded,
                count(*) filter (where status = 'running' and lease_owner = $1 and lease_expires_at >= $2) as held
           from export_jobs`,
        [runnerB.owner, Date.now()],
      );
      if (Number(row!.succeeded) >= killThreshold && Number(row!.held) > 0) {
        await runnerB.server.kill('SIGKILL');
        // What it held when it died: claimed, never finished (its leases were live, it renewed them).
        const held = await query<{ rid: string }>("select rid from export_jobs where status = 'running' and lease_owner = $1", [runnerB.owner]);
        killedAt = { succeeded: Number(row!.succeeded), held: held.map((r) => r.rid), at: Date.now() };
        break;
      }
      const [left] = await query<{ n: string }>("select count(*) as n from export_jobs where status = 'running'");
      if (Number(left!.n) === 0 && Number(row!.succeeded) >= CREATES) break;
      await sleep(20);
    }
    const phase1 = await load;
    expect(phase1.statuses).toEqual({ 200: CREATES });
    expect(killedAt, 'runner B was never seen rendering, so it was not killed mid-render').toBeDefined();
    expect(killedAt!.held.length).toBeGreaterThan(0);
    await waitUntilNoneRunning('phase 1');
    const phase1RenderMs = Date.now() - phase1Start;
    process.stdout.write(`multi-node: processes up in ${phase1Start - started} ms; ${CREATES} creates rendered in ${phase1RenderMs} ms\n`);

    const jobs1 = await query<{ rid: string; status: string; attempts: number; file_rid: string; finished_at: string; storage_key: string; sha256: string; file_rows: string }>(
      `select j.rid, j.status, j.attempts, j.file_rid, j.finished_at, f.storage_key, f.sha256,
              (select count(*) from files g where g.export_job_rid = j.rid) as file_rows
         from export_jobs j left join files f on f.rid = j.file_rid`,
    );
    expect(new Set(jobs1.map((j) => j.rid))).toEqual(new Set(phase1.rids));
    expect(jobs1.filter((j) => j.status !== 'succeeded')).toEqual([]);
    expect(jobs1.filter((j) => Number(j.file_rows) !== 1)).toEqual([]);
    // Once each: attempt 1, but for the jobs the dead runner held, which took exactly one more.
    const held = new Set(killedAt!.held);
    expect(jobs1.filter((j) => !held.has(j.rid) && j.attempts !== 1).map((j) => [j.rid, j.attempts])).toEqual([]);
    expect(jobs1.filter((j) => held.has(j.rid) && j.attempts !== 2).map((j) => [j.rid, j.attempts])).toEqual([]);
    // One success each over both runners' logs; the held jobs' successes are the survivor's.
    // The one exception: a job runner B committed in its last instant, its line lost with it
    // (the kill can land between a commit and its log line); such a job ended before the kill.
    const lines1 = await waitForSuccessLines([runnerA.server, runnerB.server], phase1.rids);
    expect([...lines1.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const unlogged = jobs1.filter((j) => !lines1.has(j.rid));
    expect(unlogged.filter((j) => j.attempts !== 1 || Number(j.finished_at) > killedAt!.at).map((j) => j.rid)).toEqual([]);
    // At most one per render slot of runner B (its concurrency plus the default express slot).
    expect(unlogged.length).toBeLessThanOrEqual(3);
    const survivorLines = successLines([runnerA.server]);
    expect(killedAt!.held.filter((rid) => survivorLines.get(rid) !== 1)).toEqual([]);
    const renderedByB = successLines([runnerB.server]).size;
    expect(renderedByB, 'runner B rendered nothing before it died').toBeGreaterThan(0);
    // One object per job, the one its file row names, and nothing else in the bucket.
    expect([...(await storedObjects()).keys()].sort()).toEqual(jobs1.map((j) => PREFIX + j.storage_key).sort());
    const downloads1 = await checkDownloads(apis, jobs1);
    expect(downloads1).toBe(2 * CREATES);
    const phase1Ms = Date.now() - phase1Start;

    // --- Phase 2: a new runner joins; PostgreSQL stops mid-run and starts again. ----------
    const runnerC = await startRunner();
    const runners = [runnerA, runnerC];
    const phase2Start = Date.now();
    const before = await createMany(apis, CREATES_BEFORE_RESTART);
    expect(before.statuses).toEqual({ 200: CREATES_BEFORE_RESTART });
    let unfinishedAtStop: string[] = [];
    for (const deadline = Date.now() + 120_000; ; await sleep(20)) {
      const rows = await query<{ rid: string; status: string; live: boolean }>(
        'select rid, status, lease_expires_at >= $2 as live from export_jobs where rid = any($1)',
        [before.rids, Date.now()],
      );
      const succeeded = rows.filter((r) => r.status === 'succeeded').length;
      const rendering = rows.filter((r) => r.status === 'running' && r.live).length;
      if (succeeded >= 3 && rendering > 0) {
        unfinishedAtStop = rows.filter((r) => r.status !== 'succeeded').map((r) => r.rid);
        break;
      }
      expect(succeeded, 'every job ended before PostgreSQL could be stopped mid-run').toBeLessThan(CREATES_BEFORE_RESTART);
      expect(Date.now()).toBeLessThan(deadline);
    }
    await backends!.stopPostgres();
    const outageStart = Date.now();

    // While it is down: answers, never hangs; the contract's INTERNAL body, or 503.
    const outageAnswers: Record<string, number> = {};
    const someFile = jobs1[0]!.file_rid;
    const auth = { authorization: `Bearer ${token}` };
    for (let round = 0; round < 3; round++) {
      for (const api of apis) {
        const answers = await Promise.all([
          create(api),
          request(`${api.baseUrl}/api/v2/notepad/exportJobs/${before.rids[0]}?preview=true`, { headers: auth }),
          request(`${api.baseUrl}/api/v2/notepad/files/${someFile}/content?preview=true`, { headers: auth }),
        ]);
        for (const answer of answers) {
          outageAnswers[answer.status] = (outageAnswers[answer.status] ?? 0) + 1;
          expect([500, 503]).toContain(answer.status);
          const body = json(answer);
          if (answer.status === 500) {
            expect(body).toMatchObject({ errorCode: 'INTERNAL', errorName: 'Default:Internal', parameters: {} });
            expect(typeof body.errorInstanceId).toBe('string');
          } else {
            expect(body.errorCode).toBe('SERVICE_UNAVAILABLE');
          }
        }
        const ready = await request(`${api.baseUrl}/ready`);
        expect(ready.status).toBe(503);
        expect((json(ready).checks as Record<string, { ok: boolean }>).database?.ok).toBe(false);
      }
      await sleep(1_000);
    }
    // Nobody died of it.
    for (const server of [...apis, ...runners.map((r) => r.server)]) {
      expect(server.proc.exitCode, `a ${server.baseUrl ? 'api' : 'runner'} process exited: ${server.stderr()}\n${JSON.stringify(server.logs.slice(-5))}`).toBeNull();
    }
    await backends!.startPostgres();
    const outageMs = Date.now() - outageStart;

    // Back: the api nodes' pools reconnect (ready, and creates through each succeed).
    for (const api of apis) {
      for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
        const ready = await request(`${api.baseUrl}/ready`);
        if (ready.status === 200) break;
        expect(Date.now(), `api ${api.baseUrl} not ready again: ${ready.body.toString()}`).toBeLessThan(deadline);
      }
    }
    const after = await createMany(apis, CREATES_AFTER_RESTART_PER_API * apis.length);
    expect(after.statuses).toEqual({ 200: CREATES_AFTER_RESTART_PER_API * apis.length });
    await waitUntilNoneRunning('phase 2');
    const phase2Rids = [...before.rids, ...after.rids];

    // Each surviving runner listens again: its LISTEN connection is back on the server.
    for (const deadline = Date.now() + 60_000; ; await sleep(250)) {
      const [row] = await query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and query = 'LISTEN notepad_jobs'");
      if (Number(row!.n) === runners.length) break;
      expect(Date.now(), `listeners: ${row!.n}`).toBeLessThan(deadline);
    }
    for (const runner of runners) {
      expect(runner.server.logs.some((line) => line.msg === 'job wake-up listener lost its connection; reconnecting')).toBe(true);
    }

    // Every job of both phases ended once, succeeded, with one file row and one object.
    const all = await query<{ rid: string; status: string; attempts: number; file_rid: string; storage_key: string; sha256: string; file_rows: string }>(
      `select j.rid, j.status, j.attempts, j.file_rid, f.storage_key, f.sha256,
              (select count(*) from files g where g.export_job_rid = j.rid) as file_rows
         from export_jobs j left join files f on f.rid = j.file_rid`,
    );
    expect(new Set(all.map((j) => j.rid))).toEqual(new Set([...phase1.rids, ...phase2Rids]));
    expect(all.filter((j) => j.status !== 'succeeded')).toEqual([]);
    expect(all.filter((j) => Number(j.file_rows) !== 1)).toEqual([]);
    expect([...(await storedObjects()).keys()].sort()).toEqual(all.map((j) => PREFIX + j.storage_key).sort());
    // Only a job that had not succeeded when the database went down may have needed another attempt.
    const phase2 = all.filter((j) => phase2Rids.includes(j.rid));
    const unfinished = new Set(unfinishedAtStop);
    expect(phase2.filter((j) => j.attempts !== 1 && !unfinished.has(j.rid)).map((j) => [j.rid, j.attempts])).toEqual([]);
    const lines2 = await waitForSuccessLines([runnerA.server, runnerC.server], phase2Rids);
    expect(phase2Rids.filter((rid) => lines2.get(rid) !== 1)).toEqual([]);
    const downloads2 = await checkDownloads(apis, phase2);
    expect(unanswered).toEqual([]);
    const retried2 = phase2.filter((j) => j.attempts > 1).length;

    // The survivors shut down cleanly after all that.
    for (const server of [apiA, apiB, runnerA.server, runnerC.server]) expect(await server.kill('SIGTERM')).toBe(0);
    const totalMs = Date.now() - started;
    const phase2Ms = Date.now() - phase2Start;
    process.stdout.write(
      `multi-node: ${CREATES} creates rendered in ${phase1RenderMs} ms (phase 1 with downloads ${phase1Ms} ms), phase 2 ${phase2Ms} ms (outage ${outageMs} ms), total ${totalMs} ms\n`,
    );

    await recordReliability('multi-node', [
      `Last run: ${new Date().toISOString()} — test/multi-node.test.ts: two api and two runner processes (NOTEPAD_ROLE), one PostgreSQL`,
      `database, one S3 bucket (s3rver), NOTEPAD_JOB_LEASE_MS=${LEASE_MS}, NOTEPAD_JOB_CONCURRENCY=2, Node ${process.version}.`,
      '',
      `Phase 1: ${CREATES} creates (MULTI_NODE_CREATES), ${CONCURRENCY} at a time through each api node; runner B SIGKILLed once`,
      `${killThreshold} had succeeded, while it held a live lease. Asserted: every create answered 200; every job succeeded, one`,
      "file row and one S3 object each and no other object; no job with two 'export job succeeded' lines over both",
      'runners, and none without one but a job B committed before its death (its line can die with it; at most one per',
      'slot); attempts 1, except the jobs B held at its death: 2, finished by the survivor; every file downloaded',
      'through both api nodes, byte for byte the object in the bucket.',
      '',
      `Phase 2: a third runner joins; ${CREATES_BEFORE_RESTART} creates; PostgreSQL stopped (fast shutdown) once 3 had succeeded and`,
      'one was rendering. Asserted while down: every create, job read and file download through both api nodes answered',
      `500 with the contract's INTERNAL body (or 503), /ready 503, within ${REQUEST_BOUND_MS / 1000} s (no request hit the bound); no process`,
      `died. After the start: both api nodes ready, ${CREATES_AFTER_RESTART_PER_API} creates through each answered 200; each surviving runner's LISTEN`,
      'connection back; every job succeeded once (one success line, one file row, one object), a second attempt only for',
      'jobs unfinished at the stop; every file downloaded through both nodes; every surviving process exited 0 on SIGTERM.',
      '',
      '| creates (phase 1) | killed runner held (observed, > 0 asserted) | B rendered before death (observed, > 0 asserted) | committed by B, line lost (observed, <= 3 asserted) | downloads | phase 2 jobs | retried after the restart (observed) | outage answers (observed) | phase 1 ms (observed) | total ms (observed) |',
      '|---|---|---|---|---|---|---|---|---|---|',
      `| ${CREATES} | ${killedAt!.held.length} | ${renderedByB} | ${unlogged.length} | ${downloads1 + downloads2} | ${phase2Rids.length} | ${retried2} | ${Object.entries(outageAnswers).map(([s, n]) => `${s}×${n}`).join(' ')} | ${phase1RenderMs} | ${totalMs} |`,
    ]);
  });
});
