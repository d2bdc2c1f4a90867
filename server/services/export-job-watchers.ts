/**
 * Who follows an export job as it changes (the event stream, tRPC's watch): ONE watcher per
 * job, however many clients listen. A watcher learns of changes from the database, so a job
 * run by a runner in another process (NOTEPAD_ROLE=runner) is seen as one run here: while any
 * job has listeners, one timer reads every watched job's row in one read per `events.pollMs`; a
 * runner in this process wakes the job's watcher at once through the job-event bus
 * (job-events.ts). Each row carries a version that every change moves on, so a listener is
 * told each version it has not seen, and nothing when nothing changed.
 *
 * The read is behind ExportJobChangeSource. On PostgreSQL, `hints` also tells of changes made
 * by any process (stores/index.ts listenForExportJobChanges: a NOTIFY per change of a job
 * some node follows, which a job's watcher asks for when it starts, reading the job once more
 * when that is done, for a change that committed meanwhile): a job rendered on another node
 * is read when it changes, not at the next poll, which stays the guarantee for a hint lost
 * while the listener reconnects. The hint names the new version, so a change this process
 * has already read (its own runner's, through the bus) is not read again; one whose read is
 * still under way may be, once (an extra read, never an extra event). Nothing lives on
 * without a listener: the last one to leave stops the job's watcher, and the last watcher
 * stops the timer and the bus subscription; the hints' connection, opened with the first
 * watcher, stays until close().
 */
import type { ExportJob } from '../contract/api.js';
import type { JobEvents } from '../job-events.js';
import type { Log } from '../log.js';
import type { ExportJobChangeHints, ExportJobChangeSubscription } from '../stores/index.js';
import { exportJobAnswerOf, type ExportJobAnswerRow } from './export-job-answer.js';

/** A job as its watchers see it: the answer and the version of the row it was read from. */
export interface ExportJobSnapshot {
  version: number;
  job: ExportJob;
  /** No longer running: the last snapshot there will be. */
  ended: boolean;
}

/** Where watchers read jobs' rows: the answer columns and version of those that exist and have not expired, in one read. */
export interface ExportJobChangeSource {
  read(rids: readonly string[], now: number): Promise<Array<ExportJobAnswerRow & { version: number }>>;
}

export interface WatchListener {
  /** Told each snapshot newer than the last it was told (or than `after`). */
  onSnapshot(snapshot: ExportJobSnapshot): void;
  /**
   * Nothing more will come: the job expired or was deleted, or it had ended and this
   * listener has already seen its last version (a reconnect after the terminal event).
   */
  onEnd(): void;
}

export interface ExportJobWatchers {
  /**
   * Follows job `rid` (the caller has checked that the listener may see it): told its current
   * state at once if its version is newer than `after` (-1: any), then every newer version.
   * Returns the function that stops listening.
   */
  watch(rid: string, after: number, listener: WatchListener): () => void;
  /** Jobs watched now (one watcher each), and listeners in all: for tests and metrics. */
  stats(): { jobs: number; listeners: number };
  /** Stops every watcher and ends every listener (onEnd) at once: the server is closing. Resolves once the hints' connection is closed. */
  close(): Promise<void>;
}

interface Entry {
  after: number;
  listener: WatchListener;
}

/** One job's watcher: its listeners and the last state read. */
interface Watcher {
  entries: Set<Entry>;
  last?: ExportJobSnapshot;
}

export interface WatcherOptions {
  source: ExportJobChangeSource;
  jobEvents: JobEvents;
  now: () => number;
  pollMs: number;
  log: Log;
  /** Changes made by any process, as they commit (PostgreSQL); without it, other processes' changes are seen at the poll. */
  hints?: ExportJobChangeHints | undefined;
}

export function createExportJobWatchers({ source, jobEvents, now, pollMs, log, hints }: WatcherOptions): ExportJobWatchers {
  /** rid -> its listeners: the watcher of that job. */
  const watched = new Map<string, Watcher>();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  /** Jobs the bus named since the last turn: read once each, on the next turn. */
  const woken = new Set<string>();
  let wakeScheduled = false;

  /** Reads the jobs (one read for all of them) and tells each one's listeners what is new. */
  async function refresh(rids: readonly string[]): Promise<void> {
    const asked = rids.filter((rid) => watched.has(rid));
    if (asked.length === 0) return;
    let rows: Awaited<ReturnType<ExportJobChangeSource['read']>>;
    try {
      rows = await source.read(asked, now());
    } catch (error) {
      // A busy database: the next poll tries again.
      log.warn({ err: error, exportJobRids: asked.length <= 10 ? asked : asked.length }, 'could not read watched export jobs');
      return;
    }
    const byRid = new Map(rows.map((row) => [row.rid, row]));
    for (const rid of asked) apply(rid, byRid.get(rid));
  }

  function apply(rid: string, row: (ExportJobAnswerRow & { version: number }) | undefined): void {
    // The job may have lost its last listener while the row was read.
    const watcher = watched.get(rid);
    if (!watcher) return;
    const { entries } = watcher;
    // Reads may overlap (a poll and a wake-up): an older row than the last one seen says nothing new.
    if (row && watcher.last && row.version < watcher.last.version) return;
    if (!row) {
      forget(rid);
      for (const entry of entries) entry.listener.onEnd();
      return;
    }
    const job = exportJobAnswerOf(row);
    const snapshot: ExportJobSnapshot = { version: row.version, job, ended: job.status.type !== 'running' };
    watcher.last = snapshot;
    for (const entry of [...entries]) {
      if (row.version <= entry.after) continue;
      entry.after = row.version;
      entry.listener.onSnapshot(snapshot);
    }
  }

  function poll(): void {
    void refresh([...watched.keys()]);
  }

  function wake(rid: string): void {
    if (!watched.has(rid)) return;
    woken.add(rid);
    if (wakeScheduled) return;
    wakeScheduled = true;
    // After the runner's write has returned: a burst of events costs one read per job.
    setImmediate(() => {
      wakeScheduled = false;
      const rids = [...woken];
      woken.clear();
      void refresh(rids);
    });
  }

  let hinted: ExportJobChangeSubscription | undefined;
  let hintsClosed: Promise<void> | undefined;
  let closed = false;
  function onHint(change: { rid: string; version: number } | undefined): void {
    if (!change) return poll();
    const last = watched.get(change.rid)?.last;
    if (!last || last.version < change.version) wake(change.rid);
  }

  function startIfNeeded(): void {
    if (hints && !hinted && !closed) hinted = hints(onHint, (error) => log.warn({ err: error }, 'export job change hints interrupted; the poll covers until they recover'));
    if (timer) return;
    timer = setInterval(poll, pollMs).unref();
    unsubscribe = jobEvents.subscribe((event) => {
      if (event.kind === 'export' && event.type !== 'created') wake(event.rid);
    });
  }

  /** The job has no watcher any more: nor hints of it. */
  function forget(rid: string): void {
    watched.delete(rid);
    hinted?.unfollow(rid);
    stopIfIdle();
  }

  function stopIfIdle(): void {
    if (watched.size > 0) return;
    clearInterval(timer);
    timer = undefined;
    unsubscribe?.();
    unsubscribe = undefined;
  }

  return {
    watch(rid, after, listener) {
      const entry: Entry = { after, listener };
      let watcher = watched.get(rid);
      const first = !watcher;
      if (!watcher) watched.set(rid, (watcher = { entries: new Set() }));
      watcher.entries.add(entry);
      startIfNeeded();
      // Hints of a job come once the database knows it is followed (PostgreSQL notifies only
      // followed jobs): read it again then, for a change that committed in between.
      if (first) void hinted?.follow(rid).then(() => wake(rid));
      const stop = () => {
        const current = watched.get(rid);
        if (!current?.entries.delete(entry)) return;
        if (current.entries.size === 0) forget(rid);
        else stopIfIdle();
      };
      // The state now, for this listener (the others have seen this version already).
      void refresh([rid]).then(() => {
        const last = watched.get(rid)?.last;
        if (watched.get(rid)?.entries.has(entry) && last?.ended && entry.after >= last.version) {
          stop();
          listener.onEnd();
        }
      });
      return stop;
    },
    stats() {
      let listeners = 0;
      for (const watcher of watched.values()) listeners += watcher.entries.size;
      return { jobs: watched.size, listeners };
    },
    async close() {
      closed = true;
      // A second close (preClose, then onClose) waits for the same connection.
      hintsClosed ??= hinted?.close() ?? Promise.resolve();
      hinted = undefined;
      const all = [...watched.values()].flatMap((watcher) => [...watcher.entries]);
      watched.clear();
      stopIfIdle();
      for (const entry of all) entry.listener.onEnd();
      await hintsClosed;
    },
  };
}
