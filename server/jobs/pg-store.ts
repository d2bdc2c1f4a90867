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
import { and, eq, gte, inArray, lte, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { PgDb } from '../../db/pg/index.js';
import { documents, exportJobs, files, generationJobs, idempotencyKeys, templates, templateVersions, userUsage } from '../../db/pg/schema.js';
import type { Attempt, ClaimScope, CommitOutcome, JobKind, JobRowOf, JobStore } from './store.js';

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

/** The WHERE of every lease and outcome write: only the attempt holding a live lease, only once. */
const ownedLive = (table: JobTable, attempt: AttemptOrPlaceholders, now: number | Placeholder): SQL =>
  and(
    eq(table.rid, attempt.rid),
    eq(table.leaseOwner, attempt.owner),
    eq(table.attempts, attempt.attempt),
    sql`${table.status} = 'running'`,
    gte(table.leaseExpiresAt, now),
  )!;

/** ownedLive in a prepared statement: the placeholders `rid`, `owner`, `attempt` and `now`, filled in by `attemptParams`. */
const ownedLivePlaceholders = (table: JobTable): SQL =>
  ownedLive(table, { rid: sql.placeholder('rid'), owner: sql.placeholder('owner'), attempt: sql.placeholder('attempt') }, sql.placeholder('now'));
const attemptParams = (attempt: Attempt, now: number) => ({ rid: attempt.rid, owner: attempt.owner, attempt: attempt.attempt, now });

/**
 * The fair pick of sqlite-store.ts (fewest jobs rendering, then served least recently, then
 * the oldest claimable job), as the rid of the row to claim, locked. The users with running
 * jobs are found by a skip scan of the queue index (a recursive CTE, one index seek per
 * user), each user's figures by seeks on the claim indexes, and only each user's first
 * HEADS_PER_USER claimable jobs are ordered: the cost grows with the users, not the queue.
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
    )
    select candidate.rid from ${table} candidate join heads on heads.rid = candidate.rid
    where candidate.status = 'running' and (candidate.lease_expires_at is null or candidate.lease_expires_at < ${nowMs})${onlyIdle}
    order by heads.rendering, heads.served nulls first, heads.oldest, heads.created_at, heads.rid
    limit 1
    for update of candidate skip locked
  )`;
};

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
      .where(and(which, claimable(table, now)))
      .returning();
  }

  // The fair claim, per kind and scope, as named prepared statements: every runner runs them
  // over and over, and the statement is long, so PostgreSQL parses and plans it once per
  // connection instead of at every claim.
  const now = sql.placeholder('now');
  const fairClaims = new Map<string, ReturnType<ReturnType<typeof claimUpdate>['prepare']>>();
  const fairClaim = (kind: JobKind, scope: ClaimScope) => {
    const name = `notepad_claim_${kind}_${scope.replace('-', '_')}`;
    let statement = fairClaims.get(name);
    if (!statement) {
      const table = tableOf(kind);
      statement = claimUpdate(table, sql`${table.rid} = ${fairPick(table, now, scope)}`, now).prepare(name);
      fairClaims.set(name, statement);
    }
    return statement;
  };
  const generationClaim = claimUpdate(generationJobs, eq(generationJobs.rid, sql.placeholder('rid')), now).prepare('notepad_claim_generation_by_rid');

  // The statements every export runs once or more, prepared like the claims: PostgreSQL
  // parses and plans each once per connection, not at every export (most of its CPU per
  // export was outside executing statements).
  const storedBytesQuery = db
    .select({ storedBytes: userUsage.storedBytes })
    .from(userUsage)
    .where(eq(userUsage.userId, sql.placeholder('userId')))
    .prepare('notepad_stored_bytes');
  const documentSourceQuery = db
    .select({ title: documents.title, content: documents.content })
    .from(documents)
    .where(eq(documents.rid, sql.placeholder('rid')))
    .prepare('notepad_export_source_document');
  const progressUpdate = db
    .update(exportJobs)
    .set({ progressStage: sql`${sql.placeholder('stage')}`, pagesRendered: sql`${sql.placeholder('pages')}`, ...NEXT_VERSION })
    .where(ownedLivePlaceholders(exportJobs))
    .prepare('notepad_export_progress');

  const storedBytes = async (userId: string): Promise<number> => (await storedBytesQuery.execute({ userId }))[0]?.storedBytes ?? 0;

  return {
    async claimNext(kind, { owner, now, leaseMs }, scope = 'anyone') {
      const [row] = await fairClaim(kind, scope).execute({ owner, now, leaseExpiresAt: now + leaseMs });
      return row as JobRowOf<typeof kind> | undefined;
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
    async exportSource(job) {
      if (job.sourceType === 'documentSource' && job.documentRid) {
        const [document] = await documentSourceQuery.execute({ rid: job.documentRid });
        return document ?? { missing: 'The document no longer exists.' };
      }
      if (job.sourceType === 'generationJobSource' && job.generationJobRid) {
        const [generated] = await db
          .select({ content: generationJobs.content, title: templates.title })
          .from(generationJobs)
          .innerJoin(templates, eq(templates.rid, generationJobs.templateRid))
          .where(eq(generationJobs.rid, job.generationJobRid));
        return generated?.content ? { title: generated.title, content: generated.content } : { missing: 'The generation job no longer has content to export.' };
      }
      return { missing: 'The export job has no source.' };
    },
    commitExportSuccess(job, attempt, now, file, admits) {
      return db.transaction(async (tx): Promise<CommitOutcome> => {
        // Named statements on the transaction's connection (prepared there once), for the
        // reason the ones above are.
        // Lock order: the job row, then the user's usage row (see the top of this file).
        await tx
          .select({ rid: exportJobs.rid })
          .from(exportJobs)
          .where(eq(exportJobs.rid, sql.placeholder('rid')))
          .for('update')
          .prepare('notepad_commit_lock_job')
          .execute({ rid: job.rid });
        const [usage] = await tx
          .select({ storedBytes: userUsage.storedBytes })
          .from(userUsage)
          .where(eq(userUsage.userId, sql.placeholder('userId')))
          .for('update')
          .prepare('notepad_commit_lock_usage')
          .execute({ userId: job.creatorId });
        const held = usage?.storedBytes ?? 0;
        if (!admits(held)) return { outcome: 'refused', storedBytes: held };
        const marked = await tx
          .update(exportJobs)
          .set({ status: 'succeeded', fileRid: sql`${sql.placeholder('fileRid')}`, finishedAt: sql`${sql.placeholder('now')}::bigint`, ...CLEARED_LEASE, ...NEXT_VERSION })
          .where(ownedLivePlaceholders(exportJobs))
          .prepare('notepad_commit_mark_succeeded')
          .execute({ ...attemptParams(attempt, now), fileRid: file.rid });
        if (marked.rowCount !== 1) return { outcome: 'lease-lost' };
        const p = sql.placeholder;
        await tx
          .insert(files)
          .values({
            rid: p('rid'),
            mediaType: p('mediaType'),
            filename: p('filename'),
            sizeBytes: p('sizeBytes'),
            sha256: p('sha256'),
            storageKey: p('storageKey'),
            exportJobRid: p('exportJobRid'),
            ownerId: p('ownerId'),
            createdAt: p('createdAt'),
            expiresAt: p('expiresAt'),
          })
          .prepare('notepad_commit_file')
          .execute({ ...file, exportJobRid: job.rid, ownerId: job.creatorId, createdAt: now, expiresAt: job.expiresAt });
        return { outcome: 'committed' };
      });
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
      return db.transaction(async (tx) => ({
        files: fileRids.length ? ((await tx.delete(files).where(inArray(files.rid, [...fileRids]))).rowCount ?? 0) : 0,
        exportJobs: (await tx.delete(exportJobs).where(lte(exportJobs.expiresAt, now))).rowCount ?? 0,
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
