import { randomUUID } from 'node:crypto';
import { leasesOf, type Deps } from '../deps.js';
import type { JobEvent } from '../job-events.js';
import { parseStorageKey, type FileStore } from '../files/store.js';
import { newRid, uuidOfRid } from '../contract/rids.js';
import { isContentTooLarge } from '../render/errors.js';
import { failExportJob, runExportJob, type Renderer } from './export-job.js';
import { failGenerationJob, runGenerationJob } from './generation-job.js';
import { isConnectionLost, isOutOfSpace } from '../storage-health.js';
import { JobFailure } from './failure.js';
import { attemptOf, claimNext, isLeaseLive, releaseLease, renewLease } from './lease.js';
import type { ExportJobRow } from './store.js';
import type { RunnerCoordination } from '../stores/index.js';

export interface JobRunnerOptions {
  deps: Deps;
  files: FileStore;
  render: Renderer;
  /** Identifies this runner in lease_owner; unique per process start. */
  owner?: string;
  /** Runners of many processes on one database (PostgreSQL): the periodic sweep runs in one of them at a time. */
  coordination?: Pick<RunnerCoordination, 'exclusiveSweep'> | undefined;
}

type SweepResult = { exportJobs: number; files: number; generationJobs: number; idempotencyKeys: number; orphanBytes: number };

export interface JobRunner {
  readonly owner: string;
  /** Begins claiming: at once, on every `notify`, and on a periodic scan. */
  start(): void;
  /** Something new may be claimable: look now instead of at the next scan. */
  notify(): void;
  /** Resolves once nothing is claimable and nothing is in flight. For tests and the CLI. */
  drain(): Promise<void>;
  /** Deletes expired jobs, their files and bytes, expired idempotency keys, and bytes no file row names. */
  sweep(): Promise<SweepResult>;
  /** A sweep, unless another process sweeps the shared database now (then swept: false). */
  sweepTurn(): Promise<{ swept: true; result: SweepResult } | { swept: false }>;
  /**
   * Stops claiming; waits up to graceMs for jobs in flight, then aborts the rest and gives
   * their leases back so another runner can start them at once.
   */
  stop(graceMs?: number): Promise<void>;
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
  /** Started in an express slot (config jobs.expressSlots), not a regular one. */
  express: boolean;
}

const SWEEP_INTERVAL_MS = 60_000;
/** Why an attempt is aborted once its lease is gone: nothing of it may be written any more. */
const LEASE_LOST = new Error('lease lost');
/** Why an attempt is aborted when its job was cancelled (the cancel took its lease too). */
const CANCELLED = new Error('cancelled');
const GENERATION_BATCH = 50;

export function createJobRunner({ deps, files, render, owner = `runner-${randomUUID()}`, coordination }: JobRunnerOptions): JobRunner {
  const { jobs } = deps.config;
  const inFlight = new Map<string, InFlight>();
  let stopping = false;
  let timers: NodeJS.Timeout[] = [];
  let idleWaiters: Array<() => void> = [];
  let pumping = false;
  /** A pass was asked for while one ran: the running one goes round again. */
  let pumpAgain = false;
  let pumpScheduled = false;

  const log = deps.logger.child({ runner: owner });
  const leases = leasesOf(deps);

  function settleIdle(): void {
    if (inFlight.size > 0 || pumping || pumpScheduled) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * One pass: a batch of generation jobs, then export jobs up to the concurrency. Claims are
   * asynchronous (the store's Promises), so a pass asked for while one runs is not dropped:
   * the running pass goes round again. A full generation batch means more may be waiting:
   * the next pass is a new macrotask, so requests and timers are served between batches
   * instead of after the whole queue.
   */
  function pump(): void {
    if (stopping) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    void pass();
  }

  async function pass(): Promise<void> {
    let moreGenerations = false;
    try {
      do {
        pumpAgain = false;
        moreGenerations = (await runGenerationJobs()) === GENERATION_BATCH;
        while (slotsInUse(false) < jobs.concurrency && !stopping) {
          const job = await claimNext(leases, 'export', owner);
          if (!job) break;
          launch(job, false);
        }
        // Every regular slot busy: an express slot takes only a job of a user with nothing
        // rendering anywhere, so a flood never holds every slot while someone else waits.
        while (slotsInUse(false) >= jobs.concurrency && slotsInUse(true) < jobs.expressSlots && !stopping) {
          const job = await claimNext(leases, 'export', owner, 'idle-users');
          if (!job) break;
          launch(job, true);
        }
      } while (pumpAgain && !moreGenerations && !stopping);
    } catch (error) {
      // A busy, full or broken database must not kill the runner: the next scan tries again.
      if (isOutOfSpace(error)) deps.storage.reportFull('database', 'claiming jobs failed: the database is full');
      log.error({ err: error }, 'claiming jobs failed');
    } finally {
      pumping = false;
      if (moreGenerations || pumpAgain) schedulePump();
      pumpAgain = false;
      settleIdle();
    }
  }

  /** A pump on the next turn of the event loop; bursts of requests for one coalesce. */
  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
      settleIdle();
    });
  }

  /**
   * Generation is a cheap tree walk, so it runs here rather than in the render pool; the
   * batch bound keeps one pass from holding the event loop for long. Returns how many ran.
   */
  async function runGenerationJobs(): Promise<number> {
    let n = 0;
    for (; n < GENERATION_BATCH && !stopping; n++) {
      const job = await claimNext(leases, 'generation', owner);
      if (!job) break;
      try {
        if (job.attempts > jobs.maxAttempts) await failGenerationJob(deps, job, `Abandoned after ${jobs.maxAttempts} attempts.`);
        else await runGenerationJob(deps, job);
      } catch (error) {
        if (isConnectionLost(error)) {
          // As for an export: the database went away, the job did nothing wrong. Its lease
          // lapses and a later claim runs it again; this batch ends.
          log.warn({ err: error, generationJobRid: job.rid }, 'generation job interrupted: the database connection was lost; it will be claimed again');
          break;
        }
        log.error({ err: error, generationJobRid: job.rid }, 'generation job failed');
        await failGenerationJob(deps, job, 'The generation failed because of an internal error.');
      }
    }
    return n;
  }

  function slotsInUse(express: boolean): number {
    let n = 0;
    for (const entry of inFlight.values()) if (entry.express === express) n++;
    return n;
  }

  function launch(job: ExportJobRow, express: boolean): void {
    // Our own earlier attempt at this job lost its lease (renewal came too late) and we
    // claimed the job again: that attempt can no longer commit, so stop it; the new
    // attempt takes its place in flight.
    inFlight.get(job.rid)?.controller.abort(LEASE_LOST);
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new JobFailure('TIMEOUT', `The export did not finish within ${jobs.deadlineMs} ms.`)), jobs.deadlineMs);
    const renew = setInterval(() => {
      renewLease(leases, 'export', attemptOf(job)).then(
        (live) => {
          // Lost to another runner, or the job was cancelled (exportJobs.cancel takes the lease).
          if (!live) controller.abort(LEASE_LOST);
        },
        (error: unknown) => log.warn({ err: error, exportJobRid: job.rid }, 'lease renewal failed; will retry'),
      );
    }, Math.max(50, Math.floor(jobs.leaseMs / 3)));
    const entry: InFlight = { controller, done: Promise.resolve(), express };
    entry.done = execute(job, controller.signal, express).finally(() => {
      clearTimeout(deadline);
      clearInterval(renew);
      if (inFlight.get(job.rid) === entry) inFlight.delete(job.rid);
      // Claim the next job before telling drain() we are idle: idle means nothing claimable.
      pump();
      settleIdle();
    });
    inFlight.set(job.rid, entry);
  }

  async function execute(job: ExportJobRow, signal: AbortSignal, express: boolean): Promise<void> {
    const attempt = attemptOf(job);
    if (job.attempts > jobs.maxAttempts) {
      // Every earlier runner died holding this job: it is what kills them. Stop trying.
      const failure = new JobFailure('INTERNAL', `The export was abandoned after ${jobs.maxAttempts} attempts.`);
      log.error({ exportJobRid: job.rid, errorInstanceId: failure.errorInstanceId }, failure.message);
      await failExportJob(deps, attempt, failure);
      return;
    }
    try {
      await runExportJob(deps, job, { render, files, signal, express });
      await removeEarlierAttempts(job, job.attempts);
    } catch (error) {
      if (signal.reason === CANCELLED) {
        log.info({ exportJobRid: job.rid, attempt: job.attempts }, 'export job cancelled; render stopped');
        return;
      }
      if (signal.reason === LEASE_LOST) {
        // This attempt can no longer write anything; whoever holds the job now finishes it.
        log.warn({ exportJobRid: job.rid, attempt: job.attempts }, 'export job lease lost; attempt abandoned');
        return;
      }
      if (stopping && !(signal.reason instanceof JobFailure)) {
        // Shutdown interrupted it: leave it for the next runner rather than failing it.
        await releaseLease(leases, 'export', attempt);
        return;
      }
      if (isConnectionLost(error) && !(signal.reason instanceof JobFailure)) {
        // The database or the file store went away mid-attempt (a restart, a failover): a
        // fault of ours, not the job's, so it is not failed, or a client would see a good
        // export fail for a blink of the database. Its lease is left to lapse, not given
        // back: the next claim renders it again as a new attempt, so maxAttempts still
        // bounds a job that takes the database down with it every time.
        log.warn({ exportJobRid: job.rid, attempt: job.attempts, err: error }, 'export job interrupted: a store connection was lost; it will be claimed again');
        return;
      }
      const failure = classify(error, signal);
      const fields = { exportJobRid: job.rid, errorInstanceId: failure.errorInstanceId, errorCode: failure.errorCode };
      if (failure.errorCode === 'INTERNAL') log.error({ ...fields, err: error }, 'export job failed');
      else log.warn(fields, 'export job failed');
      try {
        await failExportJob(deps, attempt, failure);
        await removeEarlierAttempts(job, job.attempts + 1);
      } catch (writeError) {
        // The lease will expire and another attempt will be made.
        if (isOutOfSpace(writeError)) deps.storage.reportFull('database', 'a job outcome could not be recorded: the database is full');
        log.error({ ...fields, err: writeError }, 'could not record the failure');
      }
    }
  }

  /** Bytes of attempts that died before this one; best effort, the sweep catches what this misses. */
  async function removeEarlierAttempts(job: ExportJobRow, attempt: number): Promise<void> {
    await files.removeEarlierAttempts(uuidOfRid(job.rid), attempt).catch((error: unknown) => {
      log.warn({ err: error, exportJobRid: job.rid }, 'could not remove bytes of earlier attempts');
    });
  }

  function classify(error: unknown, signal: AbortSignal): JobFailure {
    if (signal.aborted && signal.reason instanceof JobFailure) return signal.reason;
    if (error instanceof JobFailure) return error;
    if (isContentTooLarge(error)) {
      return new JobFailure('CONTENT_TOO_LARGE', `The document is too large to export: ${(error as Error).message}`, { cause: error });
    }
    return new JobFailure('INTERNAL', 'The export failed because of an internal error.', { cause: error });
  }

  async function sweep() {
    const now = deps.now();
    const expiredFiles = await deps.stores.jobs.expiredFiles(now);
    const removed = await deps.stores.jobs.deleteExpired(
      now,
      expiredFiles.map((f) => f.rid),
    );
    for (const file of expiredFiles) await files.remove(file.storageKey);
    let orphanBytes = 0;
    for (const { storageKey, temp } of await files.list()) {
      if (await isOrphan(storageKey, temp)) {
        await (temp ? files.removeTemp(storageKey) : files.remove(storageKey));
        orphanBytes++;
      }
    }
    return { ...removed, orphanBytes };
  }

  /**
   * Bytes no file row names and no live attempt can still commit: left by a crash between
   * write and commit, or by a runner that lost its lease. Bytes of a live attempt (here or
   * in another process) are kept; a lapsed attempt can never commit (isLeaseLive).
   */
  async function isOrphan(key: string, temp: boolean): Promise<boolean> {
    const parsed = parseStorageKey(key);
    if (!parsed) return true;
    // The attempt's state first, the file row second: an attempt that commits between the
    // two reads is seen live by the first or its row by the second. The other way round, a
    // commit landing between them (no row yet, then the job no longer running) deleted the
    // bytes of a file that had just succeeded.
    const job = await deps.stores.jobs.exportAttemptState(newRid('export-job', parsed.jobUuid));
    const live = job?.status === 'running' && job.attempts === parsed.attempt && isLeaseLive(job.leaseExpiresAt, deps.now());
    if (live) return false;
    return temp || !(await deps.stores.jobs.fileRowExists(key));
  }

  const sweepTurn = async (): Promise<{ swept: true; result: SweepResult } | { swept: false }> =>
    coordination ? coordination.exclusiveSweep(sweep) : { swept: true, result: await sweep() };

  // A cancel in this process: stop that render now rather than at the next renewal.
  let unsubscribe: (() => void) | undefined;
  const onJobEvent = (event: JobEvent) => {
    if (event.type === 'failed' && event.kind === 'export' && event.errorCode === 'CANCELLED') inFlight.get(event.rid)?.controller.abort(CANCELLED);
  };

  return {
    owner,
    start() {
      stopping = false;
      unsubscribe ??= deps.jobEvents.subscribe(onJobEvent);
      timers.push(setInterval(pump, jobs.scanIntervalMs).unref());
      timers.push(
        setInterval(() => {
          sweepTurn().catch((error: unknown) => log.error({ err: error }, 'sweep failed'));
        }, SWEEP_INTERVAL_MS).unref(),
      );
      pump();
    },
    // Deferred and coalesced: a burst of creates costs one claim pass, after their responses.
    notify: schedulePump,
    drain() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        pump();
        settleIdle();
      });
    },
    sweep,
    sweepTurn,
    async stop(graceMs = deps.config.jobs.shutdownGraceMs) {
      stopping = true;
      unsubscribe?.();
      unsubscribe = undefined;
      for (const timer of timers) clearInterval(timer);
      timers = [];
      const pending = [...inFlight.values()];
      if (pending.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled(pending.map((p) => p.done)), grace]);
      clearTimeout(timer);
      for (const job of inFlight.values()) job.controller.abort(new Error('runner stopping'));
      await Promise.allSettled([...inFlight.values()].map((p) => p.done));
    },
  };
}
