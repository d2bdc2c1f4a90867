import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { foundryErrorProblems } from './contract-routes.js';
import { seedExporter, serverWorkspace, sleep } from './process-helpers.js';
import { head, openRaw, within, type RawConnection } from './raw-http.js';
import { recordReliability } from './reliability-record.js';

/**
 * Hundreds of half-sent bodies with no token or an unknown one, held open against the real
 * server process, while a normal client creates and downloads exports. The attackers must be
 * refused at once and cost the server no memory for their bodies; the normal client must not
 * notice; and once the server has timed the attackers out, its memory and file descriptors
 * are back where they were.
 */

const ATTACKERS = 400;
/** Four client addresses, 100 connections each: under the default per-client cap (256). */
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const DECLARED_BYTES = 1024 * 1024;
/** What each attacker sends of its body: together 200 MiB, which the old server buffered. */
const SENT_BYTES = 512 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const EXPORTS = 3;
const RSS_MARGIN_MB = 64;

const { dbPath, start } = serverWorkspace('notepad-hostile-');

const procStatus = (pid: number, field: string): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for ${pid}`);
  return Number(match[1]) / 1024;
};
const rssMb = (pid: number) => procStatus(pid, 'VmRSS');
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** One request on its own connection, closed after the answer, as a plain client would. */
function call(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; type: string | undefined; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

interface Attack {
  target: string;
  authorization: string | undefined;
  status: number;
  errorName: string;
  envelope: 'rest' | 'trpc';
}

const UNKNOWN = `Bearer np_${'u'.repeat(43)}`;
const ATTACKS: Attack[] = [
  { target: '/api/v2/notepad/exportJobs/create?preview=true', authorization: undefined, status: 401, errorName: 'MissingCredentials', envelope: 'rest' },
  { target: '/api/v2/notepad/exportJobs/create?preview=true', authorization: UNKNOWN, status: 401, errorName: 'InvalidCredentials', envelope: 'rest' },
  { target: '/trpc/notepad.exportJobs.create', authorization: undefined, status: 401, errorName: 'MissingCredentials', envelope: 'trpc' },
  { target: '/trpc/admin.documents.create', authorization: UNKNOWN, status: 401, errorName: 'InvalidCredentials', envelope: 'trpc' },
  { target: '/api/v2/notepad/documents/upload', authorization: UNKNOWN, status: 404, errorName: 'Default:NotFound', envelope: 'rest' },
];

describe('hostile clients', () => {
  it(`${ATTACKERS} half-sent bodies without valid credentials hold no memory, and a normal client is served throughout`, { timeout: 120_000 }, async () => {
    const { token, documentRid } = await seedExporter(dbPath, { name: 'Normal', title: 'Under attack', text: 'Served while others hold connections open.' });
    const server = await start({ NOTEPAD_JOB_CONCURRENCY: '1', NOTEPAD_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), LOG_LEVEL: 'info' });
    const pid = server.proc.pid!;
    const port = Number(new URL(server.baseUrl).port);
    const deadlineMs = 60_000; // NOTEPAD_JOB_DEADLINE_MS's default: a job still running after it fails.

    const statuses: number[] = [];
    /** Create, poll until done, download: every request must succeed, and the job within its deadline. */
    async function exportOnce(): Promise<void> {
      const created = await call(`${server.baseUrl}/api/v2/notepad/exportJobs/create?preview=true`, token, 'POST', {
        exportJobSource: { type: 'documentSource', documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
      });
      statuses.push(created.status);
      expect(created.status, created.bytes.toString()).toBe(200);
      const rid = (JSON.parse(created.bytes.toString()) as { rid: string }).rid;
      const until = Date.now() + deadlineMs + 10_000;
      let status: { type: string; fileRid?: string };
      for (;;) {
        const polled = await call(`${server.baseUrl}/api/v2/notepad/exportJobs/${rid}?preview=true`, token);
        statuses.push(polled.status);
        expect(polled.status).toBe(200);
        status = (JSON.parse(polled.bytes.toString()) as { status: { type: string; fileRid?: string } }).status;
        if (status.type !== 'running') break;
        if (Date.now() > until) throw new Error(`export ${rid} still running past its deadline`);
        await sleep(100);
      }
      expect(status).toMatchObject({ type: 'succeeded' });
      const pdf = await call(`${server.baseUrl}/api/v2/notepad/files/${status.fileRid}/content?preview=true`, token);
      statuses.push(pdf.status);
      expect(pdf.status).toBe(200);
      expect(pdf.type).toBe('application/pdf');
      expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }

    // Warm: a first export (the render worker, the statements, the heap), then the baseline.
    await exportOnce();
    await sleep(500);
    const before = { rss: rssMb(pid), fds: fdCount(pid) };

    // The attack: every connection declares 1 MiB and sends half of it, then stalls.
    const chunk = Buffer.alloc(SENT_BYTES, 'x');
    const attackers: Array<{ attack: Attack; connection: RawConnection; openedAt: number; answers: () => number }> = [];
    for (let i = 0; i < ATTACKERS; i++) {
      const attack = ATTACKS[i % ATTACKS.length]!;
      const lines = [`POST ${attack.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${DECLARED_BYTES}`];
      if (attack.authorization) lines.push(`Authorization: ${attack.authorization}`);
      // Before the connection exists: no earlier than the server's own timer for it starts.
      const openedAt = Date.now();
      const connection = await openRaw(port, head(...lines), { localAddress: ADDRESSES[i % ADDRESSES.length]! });
      let received = '';
      connection.socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
      // The same buffer for every connection: the test itself holds one copy.
      connection.write(chunk);
      attackers.push({ attack, connection, openedAt, answers: () => received.split('HTTP/1.1 ').length - 1 });
    }

    // Each is answered before its body could be complete, in the contract's shape.
    const answers = await within(Promise.all(attackers.map((a) => a.connection.response)), 30_000, 'answers to the attackers');
    answers.forEach((response, i) => {
      const { attack } = attackers[i]!;
      expect(response.status).toBe(attack.status);
      const json = response.json as Record<string, unknown> & { error?: { data?: Record<string, unknown> } };
      const error = attack.envelope === 'trpc' ? json.error?.data : json;
      expect(error?.errorName).toBe(attack.errorName);
      expect(foundryErrorProblems(error, attack.envelope === 'rest' ? response.status : undefined)).toEqual([]);
    });
    // Answered, and still held open until the server's own timeout: every attacker younger than
    // the timeout (all of them, unless opening 400 took a loaded machine that long) is open.
    const now = Date.now();
    const young = attackers.filter((a) => now - a.openedAt < REQUEST_TIMEOUT_MS);
    expect(young.length, `opening the attackers took ${now - attackers[0]!.openedAt} ms`).toBeGreaterThan(0);
    expect(young.filter((a) => a.connection.socket.destroyed)).toEqual([]);
    const heldAtStart = attackers.filter((a) => !a.connection.socket.destroyed).length;

    // The normal client, meanwhile; the server's memory sampled as it works.
    let peakRss = rssMb(pid);
    let peakFds = fdCount(pid);
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(pid));
      peakFds = Math.max(peakFds, fdCount(pid));
    }, 100);
    const firstDuring = statuses.length;
    try {
      for (let i = 0; i < EXPORTS; i++) await exportOnce();
    } finally {
      clearInterval(sampler);
    }
    const during = statuses.slice(firstDuring);
    peakRss = Math.max(peakRss, rssMb(pid));
    const heldAtEnd = attackers.filter((a) => !a.connection.socket.destroyed).length;
    expect(during.length).toBeGreaterThanOrEqual(3 * EXPORTS);
    expect(during.every((s) => s === 200)).toBe(true);
    expect(peakRss).toBeLessThanOrEqual(before.rss + RSS_MARGIN_MB);

    // The server times every attacker out itself, without a second answer.
    await within(Promise.all(attackers.map((a) => a.connection.closed)), REQUEST_TIMEOUT_MS + 20_000, 'the server closing the attackers');
    expect(attackers.filter((a) => a.answers() !== 1)).toEqual([]);

    // Back to the baseline: file descriptors (polled: the server closes asynchronously), then memory.
    let fdsAfter = fdCount(pid);
    for (const until = Date.now() + 10_000; fdsAfter > before.fds && Date.now() < until; fdsAfter = fdCount(pid)) await sleep(100);
    const after = { rss: rssMb(pid), fds: fdsAfter };
    expect(after.fds).toBeLessThanOrEqual(before.fds);
    expect(after.rss).toBeLessThanOrEqual(before.rss + RSS_MARGIN_MB);
    // It still serves.
    await exportOnce();

    await recordReliability('hostile-clients', [
      `Last run: ${new Date().toISOString()} — test/hostile-clients.test.ts, one server process (\`npm start\`, NOTEPAD_JOB_CONCURRENCY=1,`,
      `NOTEPAD_REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS}, the other limits at their defaults), Node ${process.version}.`,
      '',
      `- ${ATTACKERS} connections from ${ADDRESSES.length} addresses, each declaring a ${DECLARED_BYTES / 1024} KiB body and sending ${SENT_BYTES / 1024} KiB of it,`,
      '  with no token or an unknown one, over REST and tRPC, or to an unknown route: each answered 401 or 404 in the contract',
      '  shape before its body was complete (asserted); then still held open by the server: every one opened less than the request',
      `  timeout before (asserted; ${young.length} were), ${heldAtStart} of ${ATTACKERS} in all (observed), when the normal client started;`,
      `  ${heldAtEnd} of them still open when it finished (observed); then every one closed by the server itself, within its request`,
      '  timeout plus 20 s, with no second answer (asserted).',
      `- Meanwhile a normal client ran ${EXPORTS} exports (create, poll, download) on fresh connections: all ${during.length} of its requests`,
      '  answered 200, and every job succeeded within its deadline (asserted).',
      `- Server RSS: ${before.rss.toFixed(0)} MB before, ${peakRss.toFixed(0)} MB at the highest sample during the attack, ${after.rss.toFixed(0)} MB after`,
      `  (observed; asserted at most before + ${RSS_MARGIN_MB} MB, during and after; no GC forced).`,
      `- Server file descriptors: ${before.fds} before, ${peakFds} at the highest sample during the attack (observed), ${after.fds} after`,
      '  the attackers were timed out (asserted: at most the count before).',
    ]);
  });
});
