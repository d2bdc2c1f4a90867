/**
 * The job store on PostgreSQL: the semantics of sqlite-store.ts (read it first), answered
 * through Promises like every JobStore, for runners on many machines sharing one
 * database.
 *
 * What differs, and why:
 * - The claim is one UPDATE whose row comes from a sub-SELECT `FOR UPDATE SKIP LOCKED`:
 *   concurrent claimers never wait for each other and never take the same row; a claimer
 *   that finds a candidate locked takes the next one in the fair order instead.
 * - The commit locks the job row, then its user's user_usage row, before it reads the bytes
 *   the user holds: two commits of one user cannot both fit under the quota (SQLite gets
 *   this from BEGIN IMMEDIATE), and the lock order (job, then usage) is the one every other
 *   job write takes through the user_usage triggers, so they cannot deadlock.
 */
import { and, eq, fillPlaceholders, getTableColumns, gte, inArray, lte, sql, type Placeholder, type SQL, type SQLWrapper } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PgDb } from '../../db/pg/index.js';
import { documents, exportJobs, files, generationJobs, idempotencyKeys, templates, templateVersions, userUsage } from '../../db/pg/schema.js';
import { SOURCE_MISSING, type Attempt, type ClaimScope, type CommitOutcome, type ExportInputs, type ExportJobRow, type ExportSource, type JobKind, type JobRowOf, type JobStore } from './store.js';

type JobTable = typeof exportJobs | typeof generationJobs;

const tableOf = (kind: JobKind): JobTable => (kind === 'export' ? exportJobs : generationJobs);

/** What every outcome write and release leaves behind: no lease. */
const CLEARED_LEASE = { leaseOwner: null, leaseExpiresAt: null } as const;

/**
 * How many of each user's oldest claimable jobs the claim considers. More than one, so that
 * a claimer that finds a user's oldest job locked by a concurrent claim (SKIP LOCKED) can
 * take that user's next one; bounded, so a claim never reads a user's whole queue.
 */
const HEADS_PER_USER = 8;

/**
 * What an export job's claim and release also change, as in sqlite-store.ts: its progress
 * (a new attempt starts rendering from page 0; a released job is queued again) and its
 * version (the id of its events).
 */
const EXPORT_CLAIMED = { progressStage: sql`'rendering'`, pagesRendered: sql`0`, version: sql`${exportJobs.version} + 1` };
const EXPORT_RELEASED = { progressStage: sql`null`, pagesRendered: sql`0`, version: sql`${exportJobs.version} + 1` };
/** Every write that changes what an export job answers moves its version on. */
const NEXT_VERSION = { version: sql`${exportJobs.version} + 1` };

/** Running, and nobody's lease is live (the complement of isLeaseLive in lease.ts). */
const claimable = (table: JobTable, now: number | Placeholder): SQL => sql`${table.status} = 'running' and (${table.leaseExpiresAt} is null or ${table.leaseExpiresAt} < ${now})`;

/** An attempt's fields, each a value or a prepared statement's placeholder. */
type AttemptOrPlaceholders = { [K in keyof Attempt]: Attempt[K] | Placeholder };

/** Where a job's lease is read from: a job table's columns, or the same columns of a locked row in a CTE. */
type LeaseColumns = Record<'rid' | 'leaseOwner' | 'attempts' | 'status' | 'leaseExpiresAt', SQLWrapper>;

/** The WHERE of every lease and outcome write: only the attempt holding a live lease, only once. */
const ownedLive = (lease: LeaseColumns, attempt: AttemptOrPlaceholders, now: number | Placeholder): SQL =>
  and(
    eq(lease.rid, attempt.rid),
    eq(lease.leaseOwner, attempt.owner),
    eq(lease.attempts, attempt.attempt),
    sql`${lease.status} = 'running'`,
    gte(lease.leaseExpiresAt, now),
  )!;

/** ownedLive in a prepared statement: the placeholders `rid`, `owner`, `attempt` and `now`, filled in by `attemptParams`. */
const ownedLivePlaceholders = (lease: LeaseColumns): SQL =>
  ownedLive(lease, { rid: sql.placeholder('rid'), owner: sql.placeholder('owner'), attempt: sql.placeholder('attempt') }, sql.placeholder('now'));
/** The lease columns of the job row the success commit locked, as its `usage` CTE carries them. */
const LOCKED_LEASE: LeaseColumns = {
  rid: sql`usage.rid`,
  leaseOwner: sql`usage.lease_owner`,
  attempts: sql`usage.attempts`,
  status: sql`usage.status`,
  leaseExpiresAt: sql`usage.lease_expires_at`,
};
const attemptParams = (attempt: Attempt, now: number) => ({ rid: attempt.rid, owner: attempt.owner, attempt: attempt.attempt, now });

/**
 * The fair pick of sqlite-store.ts (fewest jobs rendering, then served least recently, then
 * the oldest claimable job), as the rid of the row to claim, locked. The users with running
 * jobs are found by a skip scan of the queue index (a recursive CTE, one index seek per
 * user), each user's figures by seeks on the claim indexes, and only each user's first
 * HEADS_PER_USER claimable jobs are ordered: the cost grows with the users, not the queue.
 * The heads, in the fair order, become one array, and the row to lock is looked up by its
 * primary key among them (`= any`, ordered by position): joined to the table instead, the
 * planner read every running row (a hash join over the queue) at every claim.
 * `now` is compared as bigint: the lease columns are epoch milliseconds.
 */
const fairPick = (table: JobTable, now: number | Placeholder, scope: ClaimScope): SQL => {
  // 'idle-users' (a runner's express slot): only users with nothing rendering, as sqlite-store.ts.
  const onlyIdle = scope === 'idle-users' ? sql` and heads.rendering = 0` : sql``;
  const running = sql`${table.status} = 'running'`;
  const nowMs = sql`${now}::bigint`;
  return sql`(
    with recursive creators(id) as (
      select (select min(${table.creatorId}) from ${table} where ${running})
      union all
      select (select min(${table.creatorId}) from ${table} where ${running} and ${table.creatorId} > creators.id)
      from creators where creators.id is not null
    ),
    figures as materialized (
      select
        creators.id,
        (select count(*) from ${table} where ${running} and ${table.creatorId} = creators.id and ${table.leaseExpiresAt} >= ${nowMs}) as rendering,
        (select max(${table.startedAt}) from ${table} where ${table.creatorId} = creators.id and ${table.startedAt} is not null) as served
      from creators where creators.id is not null
    ),
    heads as materialized (
      select head.rid, head.created_at, figures.rendering, figures.served, min(head.created_at) over (partition by figures.id) as oldest
      from figures cross join lateral (
        select ${table.rid} as rid, ${table.createdAt} as created_at from ${table}
        where ${running} and ${table.creatorId} = figures.id and (${table.leaseExpiresAt} is null or ${table.leaseExpiresAt} < ${nowMs})
        order by ${table.createdAt}, ${table.rid}
        limit ${sql.raw(String(HEADS_PER_USER))}
      ) head
    ),
    ordered as materialized (
      select array_agg(heads.rid order by heads.rendering, heads.served nulls first, heads.oldest, heads.created_at, heads.rid) as rids
      from heads where true${onlyIdle}
    )
    select candidate.rid from ${table} candidate
    where candidate.rid = any((select rids from ordered)::text[])
      and candidate.status = 'running' and (candidate.lease_expires_at is null or candidate.lease_expires_at < ${nowMs})
    order by array_position((select rids from ordered), candidate.rid)
    limit 1
    for update of candidate skip locked
  )`;
};

/**
 * A statement drizzle's builders cannot express, as a named prepared statement on the pool:
 * parsed and planned once per connection, like the builders' `.prepare(name)`. Placeholders
 * are filled from `values` by name.
 */
function namedStatement<Row extends Record<string, unknown>>(db: PgDb, name: string, query: SQL): (values: Record<string, unknown>) => Promise<Row[]> {
  const { sql: text, params } = new PgDialect().sqlToQuery(query);
  return async (values) => (await db.$client.query<Row>({ name, text, values: fillPlaceholders(params, values) })).rows;
}

/**
 * What an export's claim answers besides the job row, from the row it has just leased (the
 * RETURNING of the claim): what exportInputs reads, in one json value. Its user's stored
 * bytes, and the source its type names: the document's title and content, or the generation
 * job's content and its template's title (null if the row is not there). Written out with
 * table-qualified names: in an UPDATE's RETURNING, drizzle renders columns unqualified, which
 * the subqueries' tables would make ambiguous.
 */
const INPUTS_AT_CLAIM = sql<InputsAtClaim>`${sql.raw(`json_build_object(
  'storedBytes', (select u.stored_bytes from user_usage u where u.user_id = export_jobs.creator_id),
  'document', case when export_jobs.source_type = 'documentSource' then
    (select json_build_object('title', d.title, 'content', d.content) from documents d where d.rid = export_jobs.document_rid) end,
  'generated', case when export_jobs.source_type = 'generationJobSource' then
    (select json_build_object('title', t.title, 'content', g.content) from generation_jobs g
      join templates t on t.rid = g.template_rid where g.rid = export_jobs.generation_job_rid) end
)`)}`;
interface InputsAtClaim {
  storedBytes: number | null;
  document: ExportSource | null;
  generated: { title: string; content: ExportSource['content'] | null } | null;
}

/** exportInputs's answer from what the claim read: the same cases as its own reads. */
function inputsFrom(job: ExportJobRow, read: InputsAtClaim): ExportInputs {
  const storedBytes = read.storedBytes ?? 0;
  if (job.sourceType === 'documentSource' && job.documentRid) return { storedBytes, source: read.document ?? SOURCE_MISSING.document };
  if (job.sourceType === 'generationJobSource' && job.generationJobRid) {
    const generated = read.generated;
    return { storedBytes, source: generated?.content ? { title: generated.title, content: generated.content } : SOURCE_MISSING.generation };
  }
  return { storedBytes, source: SOURCE_MISSING.none };
}

export function createPgJobStore(db: PgDb): JobStore {
  /** Leases the row `which` selects, if nobody holds a live lease on it (checked again on the locked row). */
  function claimUpdate(table: JobTable, which: SQL, now: number | Placeholder) {
    // Both job tables share the lease columns; drizzle cannot see that through the union.
    return db
      .update(table as typeof exportJobs)
      .set({
        leaseOwner: sql`${sql.placeholder('owner')}`,
        leaseExpiresAt: sql`${sql.placeholder('leaseExpiresAt')}::bigint`,
        attempts: sql`${table.attempts} + 1`,
        startedAt: sql`coalesce(${table.startedAt}, ${now}::bigint)`,
        ...(table === exportJobs ? EXPORT_CLAIMED : {}),
      })
      .where(and(which, claimable(table, now)));
  }

  // The fair claim, per kind and scope, as named prepared statements: every runner runs them
  // over and over, and the statement is long, so PostgreSQL parses and plans it once per
  // connection instead of at every claim. An export's claim also answers its inputs
  // (INPUTS_AT_CLAIM): one round trip per export fewer.
  const now = sql.placeholder('now');
  const fairPickOf = (table: JobTable, scope: ClaimScope) => sql`${table.rid} = ${fairPick(table, now, scope)}`;
  const claimName = (kind: JobKind, scope: ClaimScope) => `notepad_claim_${kind}_${scope.replace('-', '_')}`;
  const exportClaimOf = (scope: ClaimScope) =>
    claimUpdate(exportJobs, fairPickOf(exportJobs, scope), now)
      .returning({ ...getTableColumns(exportJobs), inputsAtClaim: INPUTS_AT_CLAIM })
      .prepare(claimName('export', scope));
  const generationClaimOf = (scope: ClaimScope) => claimUpdate(generationJobs, fairPickOf(generationJobs, scope), now).returning().prepare(claimName('generation', scope));
  const exportClaims = new Map<ClaimScope, ReturnType<typeof exportClaimOf>>();
  const generationClaims = new Map<ClaimScope, ReturnType<typeof generationClaimOf>>();
  const generationClaim = claimUpdate(generationJobs, eq(generationJobs.rid, sql.placeholder('rid')), now).returning().prepare('notepad_claim_generation_by_rid');
  /** The inputs each export claim read, until exportInputs asks for them (held by the row the claim answered, and gone with it). */
  const inputsOfClaimed = new WeakMap<ExportJobRow, ExportInputs>();

  // The statements every export runs once or more, prepared like the claims: PostgreSQL
  // parses and plans each once per connection, not at every export (most of its CPU per
  // export was outside executing statements).
  const storedBytesQuery = db
    .select({ storedBytes: userUsage.storedBytes })
    .from(userUsage)
    .where(eq(userUsage.userId, sql.placeholder('userId')))
    .prepare('notepad_stored_bytes');
  // An export's inputs in one round trip: the source's row carries its user's stored bytes.
  const heldBy = (userId: Placeholder) =>
    sql<number>`(select ${userUsage.storedBytes} from ${userUsage} where ${userUsage.userId} = ${userId})`.mapWith(Number);
  const documentInputsQuery = db
    .select({ title: documents.title, content: documents.content, storedBytes: heldBy(sql.placeholder('userId')) })
    .from(documents)
    .where(eq(documents.rid, sql.placeholder('rid')))
    .prepare('notepad_export_inputs_document');
  const generationInputsQuery = db
    .select({ content: generationJobs.content, title: templates.title, storedBytes: heldBy(sql.placeholder('userId')) })
    .from(generationJobs)
    .innerJoin(templates, eq(templates.rid, generationJobs.templateRid))
    .where(eq(generationJobs.rid, sql.placeholder('rid')))
    .prepare('notepad_export_inputs_generation');
  const progressUpdate = db
    .update(exportJobs)
    .set({ progressStage: sql`${sql.placeholder('stage')}`, pagesRendered: sql`${sql.placeholder('pages')}`, ...NEXT_VERSION })
    .where(ownedLivePlaceholders(exportJobs))
    .prepare('notepad_export_progress');

  /**
   * The success commit in one statement, one round trip instead of six (BEGIN, the two
   * locks, the update, the insert, COMMIT); a statement is its own transaction. In order:
   * the job row is locked; then its user's usage row, by a subquery that needs the locked
   * job row's creator, so always second (the lock order of the top of this file); the job is
   * marked succeeded only if this attempt holds the live lease and the user holds at most
   * `maxHeldBytes`; the file row is inserted only if it was marked. The lease is checked on
   * the locked row as the `job` CTE read it (the newest version), not on the version of the
   * statement's snapshot, which a renewal committed while the lock was awaited would have
   * made look lapsed. The user_usage triggers run at the statement's end, under the locks
   * already held. What the user held, and whether the job was marked, tell the outcome apart.
   */
  const p = sql.placeholder;
  const commitSuccess = namedStatement<{ held: string | null; marked: number }>(
    db,
    'notepad_commit_export_success',
    sql`with job as (
      select ${exportJobs.rid} as rid, ${exportJobs.creatorId} as creator_id, ${exportJobs.expiresAt} as expires_at,
        ${exportJobs.leaseOwner} as lease_owner, ${exportJobs.attempts} as attempts, ${exportJobs.status} as status,
        ${exportJobs.leaseExpiresAt} as lease_expires_at
      from ${exportJobs}
      where ${exportJobs.rid} = ${p('rid')} for update
    ),
    usage as (
      select job.*,
        coalesce((select ${userUsage.storedBytes} from ${userUsage} where ${userUsage.userId} = job.creator_id for update), 0) as held
      from job
    ),
    marked as (
      update ${exportJobs} set status = 'succeeded', file_rid = ${p('fileRid')}::text, finished_at = ${p('now')}::bigint,
        lease_owner = null, lease_expires_at = null, version = ${exportJobs.version} + 1
      from usage
      where ${exportJobs.rid} = usage.rid and ${ownedLivePlaceholders(LOCKED_LEASE)} and usage.held <= ${p('maxHeldBytes')}::bigint
      returning usage.creator_id, usage.expires_at
    ),
    filed as (
      insert into ${files} (rid, media_type, filename, size_bytes, sha256, storage_key, export_job_rid, owner_id, created_at, expires_at)
      select ${p('fileRid')}::text, ${p('mediaType')}::text, ${p('filename')}::text, ${p('sizeBytes')}::bigint, ${p('sha256')}::text,
        ${p('storageKey')}::text, ${p('rid')}::text, marked.creator_id, ${p('now')}::bigint, marked.expires_at
      from marked
    )
    select (select held from usage) as held, (select count(*) from marked)::integer as marked`,
  );

  const storedBytes = async (userId: string): Promise<number> => (await storedBytesQuery.execute({ userId }))[0]?.storedBytes ?? 0;

  return {
    async claimNext(kind, { owner, now, leaseMs }, scope = 'anyone') {
      const values = { owner, now, leaseExpiresAt: now + leaseMs };
      if (kind === 'generation') {
        const statement = generationClaims.get(scope) ?? generationClaims.set(scope, generationClaimOf(scope)).get(scope)!;
        const [row] = await statement.execute(values);
        return row as JobRowOf<typeof kind> | undefined;
      }
      const statement = exportClaims.get(scope) ?? exportClaims.set(scope, exportClaimOf(scope)).get(scope)!;
      const [claimed] = await statement.execute(values);
      if (!claimed) return undefined;
      const { inputsAtClaim, ...job } = claimed;
      inputsOfClaimed.set(job, inputsFrom(job, inputsAtClaim as InputsAtClaim));
      return job as JobRowOf<typeof kind>;
    },
    async claimGeneration(rid, { owner, now, leaseMs }) {
      const [row] = await generationClaim.execute({ rid, owner, now, leaseExpiresAt: now + leaseMs });
      return row as JobRowOf<'generation'> | undefined;
    },
    async renew(kind, attempt, now, leaseMs) {
      const table = tableOf(kind);
      const result = await db
        .update(table as typeof exportJobs)
        .set({ leaseExpiresAt: now + leaseMs })
        .where(ownedLive(table, attempt, now));
      return result.rowCount === 1;
    },
    async release(kind, attempt, now) {
      const table = tableOf(kind);
      const result = await db
        .update(table as typeof exportJobs)
        .set({ ...CLEARED_LEASE, attempts: sql`greatest(${table.attempts} - 1, 0)`, ...(table === exportJobs ? EXPORT_RELEASED : {}) })
        .where(ownedLive(table, attempt, now));
      return result.rowCount === 1;
    },
    async exportInputs(job) {
      // Read by its claim (a row this store answered), once.
      const atClaim = inputsOfClaimed.get(job);
      if (atClaim) {
        inputsOfClaimed.delete(job);
        return atClaim;
      }
      // No source row to carry the user's bytes: they are read on their own (a rare path).
      const missing = async (source: ExportInputs['source']) => ({ storedBytes: await storedBytes(job.creatorId), source });
      if (job.sourceType === 'documentSource' && job.documentRid) {
        const [document] = await documentInputsQuery.execute({ rid: job.documentRid, userId: job.creatorId });
        if (!document) return missing(SOURCE_MISSING.document);
        return { storedBytes: document.storedBytes ?? 0, source: { title: document.title, content: document.content } };
      }
      if (job.sourceType === 'generationJobSource' && job.generationJobRid) {
        const [generated] = await generationInputsQuery.execute({ rid: job.generationJobRid, userId: job.creatorId });
        if (!generated) return missing(SOURCE_MISSING.generation);
        return { storedBytes: generated.storedBytes ?? 0, source: generated.content ? { title: generated.title, content: generated.content } : SOURCE_MISSING.generation };
      }
      return missing(SOURCE_MISSING.none);
    },
    async commitExportSuccess(job, attempt, now, file, maxHeldBytes) {
      const { rid: fileRid, mediaType, filename, sizeBytes, sha256, storageKey } = file;
      // A bigint parameter: a bound past what the column holds admits everything anyway.
      const bound = Math.min(maxHeldBytes, Number.MAX_SAFE_INTEGER);
      const [row] = await commitSuccess({ ...attemptParams(attempt, now), maxHeldBytes: bound, fileRid, mediaType, filename, sizeBytes, sha256, storageKey });
      // No job row (it expired and was swept): nothing locked, nothing marked, nothing held.
      const held = Number(row?.held ?? 0);
      if (held > maxHeldBytes) return { outcome: 'refused', storedBytes: held };
      return row?.marked === 1 ? { outcome: 'committed' } : { outcome: 'lease-lost' };
    },
    storedBytes,
    async failExport(attempt, now, failure) {
      const result = await db
        .update(exportJobs)
        .set({
          status: 'failed',
          errorMessage: failure.message,
          errorCode: failure.errorCode,
          errorInstanceId: failure.errorInstanceId,
          finishedAt: now,
          ...CLEARED_LEASE,
          ...NEXT_VERSION,
        })
        .where(ownedLive(exportJobs, attempt, now));
      return result.rowCount === 1;
    },
    async writeProgress(attempt, now, progress) {
      // Throttled by the runner (jobs/progress.ts); only the attempt holding the live lease may write.
      const result = await progressUpdate.execute({ ...attemptParams(attempt, now), stage: progress.stage, pages: progress.pagesRendered });
      return result.rowCount === 1;
    },
    async templateVersionContent(templateRid, version) {
      const [row] = await db
        .select({ content: templateVersions.content })
        .from(templateVersions)
        .where(and(eq(templateVersions.templateRid, templateRid), eq(templateVersions.version, version)));
      return row?.content;
    },
    async finishGeneration(attempt, now, outcome) {
      const result = await db
        .update(generationJobs)
        .set({
          status: outcome.status,
          content: outcome.status === 'succeeded' ? outcome.content : null,
          errorMessage: outcome.status === 'failed' ? outcome.errorMessage : null,
          finishedAt: now,
          ...CLEARED_LEASE,
        })
        .where(ownedLive(generationJobs, attempt, now));
      return result.rowCount === 1;
    },
    expiredFiles(now) {
      return db.select({ rid: files.rid, storageKey: files.storageKey }).from(files).where(lte(files.expiresAt, now));
    },
    deleteExpired(now, fileRids) {
      // Export jobs before files: job rows first, then (the triggers of both deletes) their
      // users' usage rows, the lock order of every other job write.
      return db.transaction(async (tx) => ({
        exportJobs: (await tx.delete(exportJobs).where(lte(exportJobs.expiresAt, now))).rowCount ?? 0,
        files: fileRids.length ? ((await tx.delete(files).where(inArray(files.rid, [...fileRids]))).rowCount ?? 0) : 0,
        generationJobs: (await tx.delete(generationJobs).where(lte(generationJobs.expiresAt, now))).rowCount ?? 0,
        idempotencyKeys: (await tx.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now))).rowCount ?? 0,
      }));
    },
    async fileRowExists(storageKey) {
      return (await db.select({ rid: files.rid }).from(files).where(eq(files.storageKey, storageKey)).limit(1)).length > 0;
    },
    async exportAttemptState(rid) {
      const [row] = await db
        .select({ status: exportJobs.status, attempts: exportJobs.attempts, leaseExpiresAt: exportJobs.leaseExpiresAt })
        .from(exportJobs)
        .where(eq(exportJobs.rid, rid));
      return row;
    },
  };
}
