import { DEFAULT_EXPORT_JOBS_PAGE_SIZE, type CreateExportJobInput, type ExportJob, type ListExportJobsRequest, type ListExportJobsResponse } from '../contract/api.js';
import { encodePageToken } from '../contract/page-token.js';
import { NotepadError } from '../contract/errors.js';
import { isIanaTimezone, isWellFormedLocale } from '../contract/locale.js';
import { newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { keyToStore, replayedJobRid, requestHashOf, type KeyedRequest, type RunOutcome } from '../idempotency.js';
import { checkCreateQuotas } from '../quotas.js';
import { isOutOfSpace, STORAGE_FULL_RETRY_AFTER_SECONDS } from '../storage-health.js';
import type { Decision } from '../stores/decide.js';
import type { ExportCreateFacts, ExportCreateWrite } from '../stores/exports.js';
import { actionsOf, type Principal } from './auth.js';
import { exportJobAnswerOf, exportJobStatusOf } from './export-job-answer.js';

/**
 * exportJobs.create. The checks run in exactly the contract's order (errors 1-9), so a
 * request with several faults always gets the same, first, error; then this service's
 * quotas (server/quotas.ts), so only a create that would otherwise succeed is refused with
 * 429, and the refusal says nothing about a source the caller may not see. The checks are
 * decideExportJobCreate, run by the store inside the transaction that inserts the job
 * (stores/decide.ts; on SQLite one unit of a group commit): atomic with the insert, and
 * committed with whatever other creates arrived in the same turn of the event loop.
 *
 * With an idempotencyKey (server/idempotency.ts) the key is checked first: the same
 * request answers its job as it is now (outcome.replayed), another is IdempotencyKeyReused;
 * otherwise the key is stored beside the new job, in the same transaction.
 */
export async function createExportJob(deps: Deps, principal: Principal, request: CreateExportJobInput, outcome: RunOutcome = {}): Promise<ExportJob> {
  deps.storage.requireSpace();
  const keyed: KeyedRequest | undefined =
    request.idempotencyKey === undefined
      ? undefined
      : { userId: principal.userId, key: request.idempotencyKey, requestHash: requestHashOf('exportJobs.create', request) };
  const { job, replayed } = await deps.stores.exports
    .create({ userId: principal.userId, source: request.exportJobSource, keyed, now: deps.now() }, (facts) => decideExportJobCreate(deps, principal, request, keyed, facts))
    .catch((error: unknown) => {
      if (!isOutOfSpace(error)) throw error;
      deps.storage.reportFull('database', 'a create was refused: the database is full');
      throw new NotepadError('StorageFull', { store: 'database' }, { cause: error, retryAfterSeconds: STORAGE_FULL_RETRY_AFTER_SECONDS });
    });
  if (replayed) {
    outcome.replayed = true;
    return job;
  }
  deps.onJobCreated('export');
  return job;
}

type CreateAnswer = { job: ExportJob; replayed: boolean };

/** The rules of a create, over the facts its store read: the answer and the rows to write, or the contract's first error. */
function decideExportJobCreate(
  deps: Deps,
  principal: Principal,
  request: CreateExportJobInput,
  keyed: KeyedRequest | undefined,
  facts: ExportCreateFacts,
): Decision<CreateAnswer, ExportCreateWrite> {
  if (keyed && replayedJobRid(facts.earlier, keyed)) {
    const earlier = facts.earlier?.job;
    // The earlier job has expired or gone: the key no longer holds one, so create afresh.
    if (earlier) return { answer: { job: { rid: earlier.rid, status: exportJobStatusOf(earlier) }, replayed: true } };
  }
  if (!principal.canCreateExportJobs) throw new NotepadError('CreateExportJobPermissionDenied');

  const { exportJobSource: source, exportJobTarget: target } = request;
  if (!isWellFormedLocale(target.userLocale)) {
    throw new NotepadError('InvalidExportJobUserLocale', { userLocale: target.userLocale });
  }
  if (!isIanaTimezone(target.userTimezone)) {
    throw new NotepadError('InvalidTimezone', { userTimezone: target.userTimezone });
  }

  if (source.type === 'documentSource') {
    const { documentRid } = source;
    const actions = actionsOf(facts.documentGrants);
    // Without a view grant the document does not exist for this caller.
    if (!actions.has('view') || !facts.documentExists) throw new NotepadError('DocumentNotFound', { documentRid });
    if (!actions.has('export')) throw new NotepadError('ExportDocumentPermissionDenied', { documentRid });
  } else {
    const { generationJobRid, templateRid } = source;
    const job = facts.generationJob;
    if (!job) throw new NotepadError('GenerationJobNotFound', { generationJobRid, templateRid });
    if (job.creatorId !== principal.userId) {
      throw new NotepadError('ExportGenerationJobPermissionDenied', { generationJobRid });
    }
    if (job.status === 'running') throw new NotepadError('GenerationJobStatusRunning', { generationJobRid });
    if (job.status === 'failed') throw new NotepadError('GenerationJobStatusFailed', { generationJobRid });
  }
  const now = deps.now();
  checkCreateQuotas(deps.config.quotas, facts, 'export', now);

  const rid = newRid('export-job', deps.uuid());
  const expiresAt = now + deps.config.exportJobTtlMs;
  return {
    answer: { job: { rid, status: { type: 'running' } }, replayed: false },
    write: {
      job: { rid, creatorId: principal.userId, source, userLocale: target.userLocale, userTimezone: target.userTimezone, createdAt: now, expiresAt },
      key: keyed && keyToStore(deps.config, keyed, rid, now, expiresAt),
    },
  };
}

/** exportJobs.get: only the job's creator sees it, and only until it expires. */
export async function getExportJob(deps: Deps, principal: Principal, exportJobRid: string): Promise<ExportJob> {
  const row = await deps.stores.exports.get(exportJobRid, principal.userId, deps.now());
  if (!row) throw new NotepadError('ExportJobNotFound', { exportJobRid });
  return exportJobAnswerOf(row);
}

/**
 * exportJobs.list: the caller's unexpired jobs, newest first (created_at, then rid), a page
 * at a time. The token is the last job's position: the next page is what is older, so jobs
 * created meanwhile (newer than any listed) neither repeat nor shift a page.
 */
export async function listExportJobs(deps: Deps, principal: Principal, request: ListExportJobsRequest): Promise<ListExportJobsResponse> {
  const pageSize = request.pageSize ?? DEFAULT_EXPORT_JOBS_PAGE_SIZE;
  const before = request.pageToken ?? { createdAt: Number.MAX_SAFE_INTEGER, rid: '' };
  const rows = await deps.stores.exports.page({ creatorId: principal.userId, before, now: deps.now(), status: request.status, limit: pageSize + 1 });
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  return {
    data: page.map(exportJobAnswerOf),
    ...(rows.length > pageSize && last ? { nextPageToken: encodePageToken({ createdAt: last.createdAt, rid: last.rid }) } : {}),
  };
}

export const CANCELLED_MESSAGE = 'The export was cancelled by its creator before it finished; no file was kept.';

/**
 * exportJobs.cancel: a running job ends `failed` with errorCode CANCELLED; a finished one is
 * answered as it is (cancelling twice is harmless). The cancel takes the job's lease, so its
 * render, wherever it runs, can no longer store a file: a runner in this process is told at
 * once (the `failed` job event names the job) and stops the render; a runner elsewhere
 * finds out at its next lease renewal.
 */
export async function cancelExportJob(deps: Deps, principal: Principal, exportJobRid: string): Promise<ExportJob> {
  const cancelled = await deps.stores.exports.cancel({ rid: exportJobRid, creatorId: principal.userId, now: deps.now(), errorMessage: CANCELLED_MESSAGE });
  if (cancelled) {
    deps.logger.info({ exportJobRid }, 'export job cancelled');
    deps.jobEvents.emit({ type: 'failed', kind: 'export', errorCode: 'CANCELLED', rid: exportJobRid });
  }
  return getExportJob(deps, principal, exportJobRid);
}
