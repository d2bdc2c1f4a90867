/**
 * Group commit for export-job creates on PostgreSQL, as sqlite/write-batch.ts is for SQLite.
 *
 * A create locks its user's user_usage row for its checks (shared.ts), so one user's creates
 * take turns, each holding the lock for its statements' round trips and its commit. Creates
 * that arrive while a batch is in flight wait for the next batch instead, which answers all
 * of them with a fixed number of statements: the source facts of every document at once,
 * every user's usage row locked (in user order, so two batches never deadlock) and read,
 * every key read, then each create decided in arrival order against facts that include the
 * creates decided before it in the batch (a quota counts them; a key written by one is the
 * next one's earlier key), and one statement inserting every job and key and notifying the
 * runners once. Callers are answered after the commit, so an acknowledged create is as
 * durable as a single one.
 *
 * A `decide` that throws fails only its own create. A batch whose statements fail (a key of
 * a user that does not exist, a lost connection, a deadlock detected) is rolled back whole
 * and its creates are run again one by one, in order (`single`), so each gets its own
 * outcome; a `decide` is pure (decide.ts), and nothing of the failed attempt was answered or
 * committed.
 */
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { exportJobs, files, generationJobs, idempotencyKeys, users, userUsage } from '../../../db/pg/schema.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { Decide } from '../decide.js';
import type { ExportCreateFacts, ExportCreateRequest, ExportCreateWrite, ExportJobAnswerRow } from '../exports.js';
import type { NewKey, StoredKey } from '../idempotency.js';
import type { Usage, UsageFacts } from '../usage.js';
import { documentFactsOf, EXPORT_JOB_ANSWER, liveGenerationJob, newExportJobRow, pairKey } from './export-rows.js';
import { keyInsert, type PgTx } from './shared.js';

/** Creates in one batch at most: a bound on one transaction's statements' size. */
const MAX_BATCH = 256;

export type RunCreate = <Answer>(request: ExportCreateRequest, decide: Decide<ExportCreateFacts, Answer, ExportCreateWrite>) => Promise<Answer>;

interface Pending {
  request: ExportCreateRequest;
  decide: Decide<ExportCreateFacts, unknown, ExportCreateWrite>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const NO_USAGE: UsageFacts = { usage: { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 }, storageFreesAt: undefined };

/** A job just inserted, as its answer reads before anything else happens to it. */
const NEW_JOB_ANSWER = { status: 'running', fileRid: null, errorMessage: null, errorCode: null, errorInstanceId: null, progressStage: null, pagesRendered: 0, version: 0 } as const;

export function createExportCreateBatcher(db: PgDb, single: RunCreate): RunCreate {
  let queue: Pending[] = [];
  let inFlight = false;

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    const batch = queue.slice(0, MAX_BATCH);
    queue = queue.slice(batch.length);
    inFlight = true;
    void runBatch(batch).finally(() => {
      inFlight = false;
      flush();
    });
  }

  async function runBatch(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await db.transaction((tx) => decideAndWrite(tx, batch));
    } catch {
      // Each create alone, each with its own outcome (see the top of this file), in arrival
      // order: what each sees of the ones before it is then what it would have seen in the batch.
      for (const item of batch) await single(item.request, item.decide).then(item.resolve, item.reject);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  return <Answer>(request: ExportCreateRequest, decide: Decide<ExportCreateFacts, Answer, ExportCreateWrite>): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      queue.push({ request, decide, resolve: resolve as (value: unknown) => void, reject });
      // The first create of a burst waits one turn of the event loop for the rest of it.
      if (!inFlight && queue.length === 1) setImmediate(flush);
    });
}

async function decideAndWrite(tx: PgTx, batch: Pending[]): Promise<Outcome[]> {
  // Facts that need no lock first (documents are never deleted; see exports.ts).
  const documentFacts = await documentFactsOf(
    tx,
    batch.flatMap(({ request: { userId, source } }) => (source.type === 'documentSource' ? [{ userId, documentRid: source.documentRid }] : [])),
  );
  const generationFacts = new Map<Pending, Awaited<ReturnType<typeof liveGenerationJob>>>();
  for (const item of batch) {
    const { source, now } = item.request;
    if (source.type === 'generationJobSource') generationFacts.set(item, await liveGenerationJob(tx, source.generationJobRid, source.templateRid, now));
  }
  // Then the locks, and what must be read after them.
  const usage = await lockUsages(tx, [...new Set(batch.map((item) => item.request.userId))]);
  const stored = await storedKeysOf(tx, batch);

  const outcomes: Outcome[] = [];
  const jobs: Array<ReturnType<typeof newExportJobRow>> = [];
  const keys: NewKey[] = [];
  const keysOfBatch = new Map<string, StoredKey & { job: ExportJobAnswerRow }>();
  for (const item of batch) {
    const { userId, source, keyed, now } = item.request;
    const held = usage.get(userId) ?? NO_USAGE;
    const keyId = keyed && pairKey(keyed.userId, keyed.key);
    const earlierRow = keyId === undefined ? undefined : (keysOfBatch.get(keyId) ?? storedAt(stored.get(keyId), now));
    const facts: ExportCreateFacts = {
      ...held,
      earlier: earlierRow,
      documentGrants: source.type === 'documentSource' ? (documentFacts.get(pairKey(userId, source.documentRid))?.grants ?? []) : [],
      documentExists: source.type === 'documentSource' && (documentFacts.get(pairKey(userId, source.documentRid))?.exists ?? false),
      generationJob: generationFacts.get(item),
    };
    let decision: ReturnType<typeof item.decide>;
    try {
      decision = item.decide(facts);
    } catch (error) {
      outcomes.push({ ok: false, error });
      continue;
    }
    outcomes.push({ ok: true, value: decision.answer });
    const write = decision.write;
    if (!write) continue;
    jobs.push(newExportJobRow(write.job));
    // What the next creates of this user in the batch see: one more active job, this key.
    usage.set(userId, { ...held, usage: { ...held.usage, activeExportJobs: held.usage.activeExportJobs + 1 } });
    if (write.key) {
      keys.push(write.key);
      keysOfBatch.set(pairKey(write.key.userId, write.key.key), { requestHash: write.key.requestHash, jobRid: write.job.rid, job: { rid: write.job.rid, ...NEW_JOB_ANSWER } });
    }
  }
  if (jobs.length > 0) {
    const insertJobs = tx.insert(exportJobs).values(jobs);
    // One statement: every job, every key, and one hint for the runners (delivered only if this commits).
    await tx.execute(sql`with inserted_jobs as (${insertJobs.getSQL()})${keys.length ? sql`, inserted_keys as (${keyInsert(tx, keys).getSQL()})` : sql``} select pg_notify(${JOBS_CHANNEL}, 'export')`);
  }
  return outcomes;
}

/**
 * Locks every user's usage row, in user order, and answers their usage facts (shared.ts
 * usageFacts says what they are and why the expiries may be read before the lock). Users
 * without a row get one first; a user id that names no user gets none, and zero usage.
 */
async function lockUsages(tx: PgTx, userIds: string[]): Promise<Map<string, UsageFacts>> {
  const sorted = [...userIds].sort();
  const read = () =>
    tx
      .select({
        userId: userUsage.userId,
        activeExportJobs: userUsage.activeExportJobs,
        activeGenerationJobs: userUsage.activeGenerationJobs,
        storedBytes: userUsage.storedBytes,
        fileExpiresAt: sql`(select min(${files.expiresAt}) from ${files} where ${files.ownerId} = ${userUsage.userId})`.mapWith(Number),
        contentExpiresAt: sql`(select min(${generationJobs.expiresAt}) from ${generationJobs} where ${generationJobs.creatorId} = ${userUsage.userId} and ${generationJobs.content} is not null)`.mapWith(Number),
      })
      .from(userUsage)
      .where(inArray(userUsage.userId, sorted))
      .orderBy(userUsage.userId)
      .for('update', { of: userUsage });
  let rows = await read();
  if (rows.length < sorted.length) {
    const found = new Set(rows.map((row) => row.userId));
    const missing = sorted.filter((id) => !found.has(id));
    await tx.execute(sql`insert into ${userUsage} (user_id) select ${users.id} from ${users} where ${users.id} in ${missing} order by ${users.id} on conflict (user_id) do nothing`);
    rows = await read();
  }
  const usage = new Map<string, UsageFacts>();
  for (const { userId, fileExpiresAt, contentExpiresAt, ...held } of rows) {
    const expiries = [fileExpiresAt, contentExpiresAt].filter((at): at is number => typeof at === 'number');
    usage.set(userId, { usage: held satisfies Usage, storageFreesAt: expiries.length ? Math.min(...expiries) : undefined });
  }
  return usage;
}

interface StoredKeyRow extends StoredKey {
  expiresAt: number;
  job: (ExportJobAnswerRow & { expiresAt: number }) | undefined;
}

/** The batch's keys as stored, with the job each made if its creator still has it; expiry is checked per create (storedAt). */
async function storedKeysOf(tx: PgTx, batch: Pending[]): Promise<Map<string, StoredKeyRow>> {
  const asked = batch.flatMap((item) => (item.request.keyed ? [item.request.keyed] : []));
  const stored = new Map<string, StoredKeyRow>();
  if (asked.length === 0) return stored;
  const rows = await tx
    .select({
      userId: idempotencyKeys.userId,
      key: idempotencyKeys.key,
      requestHash: idempotencyKeys.requestHash,
      jobRid: idempotencyKeys.jobRid,
      expiresAt: idempotencyKeys.expiresAt,
      job: { ...EXPORT_JOB_ANSWER, expiresAt: exportJobs.expiresAt },
    })
    .from(idempotencyKeys)
    .leftJoin(exportJobs, and(eq(exportJobs.rid, idempotencyKeys.jobRid), eq(exportJobs.creatorId, idempotencyKeys.userId)))
    .where(
      and(
        sql`(${idempotencyKeys.userId}, ${idempotencyKeys.key}) in (select * from unnest(${sql.param(asked.map((k) => k.userId))}::text[], ${sql.param(asked.map((k) => k.key))}::text[]))`,
        gt(idempotencyKeys.expiresAt, Math.min(...batch.map((item) => item.request.now))),
      ),
    );
  for (const { userId, key, job, ...row } of rows) stored.set(pairKey(userId, key), { ...row, job: job?.rid ? job : undefined });
  return stored;
}

/** A stored key as the create at `now` sees it: unexpired, with its job while that has not expired. */
function storedAt(row: StoredKeyRow | undefined, now: number): (StoredKey & { job: ExportJobAnswerRow | undefined }) | undefined {
  if (!row || row.expiresAt <= now) return undefined;
  const job = row.job && row.job.expiresAt > now ? (({ expiresAt: _expiresAt, ...answer }) => answer)(row.job) : undefined;
  return { requestHash: row.requestHash, jobRid: row.jobRid, job };
}
