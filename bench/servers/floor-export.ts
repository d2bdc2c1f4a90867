/**
 * The floor of a watched export: what any server has to do between a client's create and
 * the last byte of its PDF, and nothing else. A bare node:http server that answers a create
 * at once, renders the demo document in the service's own render pool (its express lane, as
 * the service renders a lone user's export), writes the PDF durably (write, fsync, rename:
 * a job may be reported succeeded only once its file survives a crash), tells the client on
 * an open event stream, and serves the file. No database, no credentials, no validation, no
 * tRPC: the e2e-watch scenario reports this pipeline's time against the same render child,
 * which says how much of the gap to renderPdf alone no server could close on this machine.
 *
 * Env: FLOOR_DIR (where the PDFs go). Listens on 127.0.0.1, port 0; prints {"port": n}.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createRenderPool } from '../../server/render/pool.js';
import { DEMO_CONTENT } from '../../server/seed.js';
import { DEMO_TITLE, RENDER_TARGET } from '../documents.js';

const dir = process.env.FLOOR_DIR ?? '.';
const pool = createRenderPool({ threads: 1, expressThreads: 1 });
const EXPORTED_AT = Date.UTC(2026, 0, 15, 12, 0, 0);

interface Job {
  done: boolean;
  /** The event stream waiting for the job's end, if the client opened it first. */
  listener?: ServerResponse;
}
const jobs = new Map<string, Job>();

const event = (rid: string) => `id: 1\nevent: succeeded\ndata: ${JSON.stringify({ rid, status: { type: 'succeeded' } })}\n\n`;

async function run(rid: string, job: Job): Promise<void> {
  const { pdf } = await pool.render(
    { title: DEMO_TITLE, content: DEMO_CONTENT, ...RENDER_TARGET, exportedAt: EXPORTED_AT, limits: { maxPages: 5_000, maxBytes: 200 * 1024 * 1024 } },
    { express: true },
  );
  const path = join(dir, `${rid}.pdf`);
  const handle = await open(`${path}.tmp`, 'w');
  try {
    await handle.write(pdf);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${path}.tmp`, path);
  job.done = true;
  job.listener?.end(event(rid));
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const url = request.url ?? '';
    if (request.method === 'POST' && url === '/create') {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const rid = randomUUID();
      const job: Job = { done: false };
      jobs.set(rid, job);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rid, status: { type: 'running' } }));
      void run(rid, job).catch((error: unknown) => {
        job.listener?.destroy(error instanceof Error ? error : new Error(String(error)));
        console.error(error);
      });
      return;
    }
    const events = /^\/events\/([\w-]+)$/.exec(url);
    const job = events ? jobs.get(events[1]!) : undefined;
    if (events && job) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (job.done) response.end(event(events[1]!));
      else job.listener = response;
      return;
    }
    const file = /^\/files\/([\w-]+)$/.exec(url);
    if (file && jobs.get(file[1]!)?.done) {
      void readFile(join(dir, `${file[1]!}.pdf`)).then((bytes) => {
        jobs.delete(file[1]!);
        response.writeHead(200, { 'content-type': 'application/pdf', 'content-length': bytes.length }).end(bytes);
      });
      return;
    }
    response.writeHead(404).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.destroy().then(() => process.exit(0));
});
