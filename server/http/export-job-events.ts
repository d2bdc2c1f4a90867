/**
 * `GET exportJobs/{exportJobRid}/events` (an extension, docs/api.md): the job's changes as
 * Server-Sent Events. Each event is the ExportJob as exportJobs.get answers it, named
 * `progress` while it runs and `succeeded` or `failed` at its end, with the job's version as
 * its `id:`; the stream closes after the end. A reconnect sends the last id it saw as
 * `Last-Event-ID` and is told only what is newer, so the terminal event is never lost (and a
 * client that has it already gets an empty stream). The events come from the job's one
 * shared watcher (services/export-job-watchers.ts); this module holds, per stream, only a
 * heartbeat timer and a lifetime timer, both gone when the stream ends or the client leaves.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Deps } from '../deps.js';
import type { ExportJobSnapshot } from '../services/export-job-watchers.js';

export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';
export const EVENT_STREAM_MEDIA_TYPE = 'text/event-stream';

/** The version a reconnecting client saw last, or -1 (absent or malformed: everything is new). */
export function lastEventIdOf(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : -1;
}

/** The event's name: `progress` while the job runs, its status at the end. */
export const eventNameOf = (snapshot: ExportJobSnapshot): 'progress' | 'succeeded' | 'failed' =>
  snapshot.job.status.type === 'running' ? 'progress' : snapshot.job.status.type;

const frameOf = (snapshot: ExportJobSnapshot) => `id: ${snapshot.version}\nevent: ${eventNameOf(snapshot)}\ndata: ${JSON.stringify(snapshot.job)}\n\n`;

let open = 0;
/** Event streams open now, each with its two timers: for tests. */
export const openEventStreams = (): number => open;

/**
 * Answers the stream of job `rid` (the caller has passed exportJobs.get's checks for it),
 * from the version after `after`. A closing server ends it (deps.watchers.close, app.ts).
 */
export function sendExportJobEvents(deps: Deps, rid: string, after: number, reply: FastifyReply): FastifyReply {
  const { heartbeatMs, maxStreamMs } = deps.config.events;
  const stream = new PassThrough();
  open++;
  let ended = false;
  let stopWatching: (() => void) | undefined;
  const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
  // Bounded, like any request: a client reconnects with Last-Event-ID and misses nothing.
  const lifetime = setTimeout(() => end(), maxStreamMs);
  const end = () => {
    if (ended) return;
    ended = true;
    open--;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    stopWatching?.();
    reply.raw.off('close', end);
    stream.end();
  };
  // The client went away (or the response ended): nothing of the stream may stay behind.
  reply.raw.once('close', end);

  reply
    .header('Content-Type', `${EVENT_STREAM_MEDIA_TYPE}; charset=utf-8`)
    .header('Cache-Control', 'no-store')
    // Proxies such as nginx would otherwise hold events back in their buffers.
    .header('X-Accel-Buffering', 'no');
  const sent = reply.send(stream);
  stopWatching = deps.watchers.watch(rid, after, {
    onSnapshot(snapshot) {
      if (ended) return;
      stream.write(frameOf(snapshot));
      if (snapshot.ended) end();
    },
    onEnd: end,
  });
  if (ended) stopWatching();
  return sent;
}
