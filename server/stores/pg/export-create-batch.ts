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
import { and, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { documents, exportJobs, idempotencyKeys, permissions } from '../../../db/pg/schema.js';
import type { GrantAction } from '../../contract/grants.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { Decide } from '../decide.js';
import type { ExportCreateFacts, ExportCreateRequest, ExportCreateWrite, ExportJobAnswerRow, NewExportJob } from '../exports.js';
import type { NewKey, StoredKey } from '../idempotency.js';
import { EXPORT_JOB_ANSWER, liveGenerationJob } from './export-rows.js';
import { lockUsages, usageOf, type PgQueryable, type PgTx } from './shared.js';

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

/** A job just inserted, as its answer reads before anything else happens to it. */
const NEW_JOB_ANSWER = { status: 'running', fileRid: null, errorMessage: null, errorCode: null, errorInstanceId: null, progressStage: null, pagesRendered: 0, version: 0 } as const;

/** One create in its own transaction (a batch of one): what a failed batch's creates run again as. */
export async function createOneExport<Answer>(db: PgDb, request: ExportCreateRequest, decide: Decide<ExportCreateFacts, Answer, ExportCreateWrite>): Promise<Answer> {
  const item: Pending = { request, decide, resolve: () => {}, reject: () => {} };
  const [outcome] = await db.transaction((tx) => decideAndWrite(tx, [item]));
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value as Answer;
}

export function createExportCreateBatcher(db: PgDb, single: RunCreate = (request, decide) => createOneExport(db, request, decide)): RunCreate {
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
  const usage = await lockUsages(tx, batch.map((item) => item.request.userId));
  const stored = await storedKeysOf(tx, batch);

  const outcomes: Outcome[] = [];
  const jobs: NewExportJob[] = [];
  const keys: NewKey[] = [];
  const keysOfBatch = new Map<string, StoredKey & { job: ExportJobAnswerRow }>();
  for (const item of batch) {
    const { userId, source, keyed, now } = item.request;
    const held = usageOf(usage, userId);
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
    jobs.push(write.job);
    // What the next creates of this user in the batch see: one more active job, this key.
    usage.set(userId, { ...held, usage: { ...held.usage, activeExportJobs: held.usage.activeExportJobs + 1 } });
    if (write.key) {
      keys.push(write.key);
      keysOfBatch.set(pairKey(write.key.userId, write.key.key), { requestHash: write.key.requestHash, jobRid: write.job.rid, job: { rid: write.job.rid, ...NEW_JOB_ANSWER } });
    }
  }
  if (jobs.length > 0) await insertBatch(tx, jobs, keys);
  return outcomes;
}

/**
 * One statement: every job, every key, and one hint for the runners (delivered only if this
 * commits). Its shape is the same for any number of rows (one array per column, unnest), so
 * building it costs the same for a batch of 200 as for one, where a VALUES list built by
 * drizzle cost the API process a walk over every value of every row. The batch never holds
 * two keys of one (user, key): a create whose key an earlier one in the batch wrote replays
 * or conflicts with it, and writes nothing.
 */
async function insertBatch(tx: PgTx, jobs: NewExportJob[], keys: NewKey[]): Promise<void> {
  const jobRows = unnestOf([
    ['rid', 'text', jobs.map((job) => job.rid)],
    ['creator_id', 'text', jobs.map((job) => job.creatorId)],
    ['source_type', 'text', jobs.map((job) => job.source.type)],
    ['document_rid', 'text', jobs.map((job) => (job.source.type === 'documentSource' ? job.source.documentRid : null))],
    ['generation_job_rid', 'text', jobs.map((job) => (job.source.type === 'generationJobSource' ? job.source.generationJobRid : null))],
    ['template_rid', 'text', jobs.map((job) => (job.source.type === 'generationJobSource' ? job.source.templateRid : null))],
    ['user_locale', 'text', jobs.map((job) => job.userLocale)],
    ['user_timezone', 'text', jobs.map((job) => job.userTimezone)],
    ['created_at', 'bigint', jobs.map((job) => job.createdAt)],
    ['expires_at', 'bigint', jobs.map((job) => job.expiresAt)],
  ]);
  const insertJobs = sql`insert into ${exportJobs} (${jobRows.columns}, status) select ${jobRows.columns}, 'running' from ${jobRows.from}`;
  const keyRows = unnestOf([
    ['user_id', 'text', keys.map((key) => key.userId)],
    ['key', 'text', keys.map((key) => key.key)],
    ['request_hash', 'text', keys.map((key) => key.requestHash)],
    ['job_rid', 'text', keys.map((key) => key.jobRid)],
    ['created_at', 'bigint', keys.map((key) => key.createdAt)],
    ['expires_at', 'bigint', keys.map((key) => key.expiresAt)],
  ]);
  // As keyInsert (shared.ts): an expired row of the same key, not yet swept, is replaced.
  const insertKeys = sql`insert into ${idempotencyKeys} (${keyRows.columns}) select ${keyRows.columns} from ${keyRows.from}
    on conflict (user_id, key) do update set request_hash = excluded.request_hash, job_rid = excluded.job_rid, created_at = excluded.created_at, expires_at = excluded.expires_at`;
  await tx.execute(sql`with inserted_jobs as (${insertJobs})${keys.length ? sql`, inserted_keys as (${insertKeys})` : sql``} select pg_notify(${JOBS_CHANNEL}, 'export')`);
}

/** Rows given column by column, as a FROM item (`unnest($1::text[], …) as rows(a, …)`, one array parameter per column) and its column list. */
function unnestOf(columns: ReadonlyArray<readonly [name: string, type: 'text' | 'bigint', values: unknown[]]>): { from: SQL; columns: SQL } {
  const names = sql.raw(columns.map(([name]) => name).join(', '));
  const arrays = sql.join(
    columns.map(([, type, values]) => sql`${sql.param(values)}::${sql.raw(type)}[]`),
    sql`, `,
  );
  return { from: sql`unnest(${arrays}) as rows(${names})`, columns: names };
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

/** A map key of two ids. */
const pairKey = (a: string, b: string): string => `${a}\u0000${b}`;

/** Each (user, document)'s stored grants and whether the document exists, in one statement (by pairKey). */
async function documentFactsOf(q: PgQueryable, pairs: Array<{ userId: string; documentRid: string }>): Promise<Map<string, { grants: GrantAction[]; exists: boolean }>> {
  const facts = new Map<string, { grants: GrantAction[]; exists: boolean }>();
  // A burst is mostly a few users exporting a few documents: each pair is read once.
  const distinct = [...new Map(pairs.map((pair) => [pairKey(pair.userId, pair.documentRid), pair])).values()];
  if (distinct.length === 0) return facts;
  const { rows } = await q.execute<{ user_id: string; document_rid: string; grants: GrantAction[]; exists: boolean }>(sql`
    select asked.user_id, asked.document_rid,
      array(select ${permissions.action} from ${permissions} where ${permissions.principalId} = asked.user_id and ${permissions.resourceRid} = asked.document_rid) as grants,
      exists(select 1 from ${documents} where ${documents.rid} = asked.document_rid) as "exists"
    from unnest(${sql.param(distinct.map((p) => p.userId))}::text[], ${sql.param(distinct.map((p) => p.documentRid))}::text[]) as asked(user_id, document_rid)`);
  for (const row of rows) facts.set(pairKey(row.user_id, row.document_rid), { grants: row.grants, exists: row.exists });
  return facts;
}
