/**
 * The job store on SQLite. Its methods answer synchronously inside (better-sqlite3), behind
 * the interface's Promises. Every statement is prepared once per connection: a runner
 * claims after every create and every finished job, so building and preparing SQL per
 * call would be most of the event loop's own work per export. Nothing in the claim makes
 * SQLite re-prepare it on each run: its subqueries' LIMITs and the `status` terms the claim
 * indexes are partial on are literals, not bound parameters.
 */
import { and, eq, gte, inArray, isNull, lt, lte, or, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/index.js';
import { documents, exportJobs, files, generationJobs, idempotencyKeys, templates, templateVersions, userUsage } from '../../db/schema.js';
import {
  SOURCE_MISSING,
  type Attempt,
  type ClaimScope,
  type CommitOutcome,
  type ExportInputs,
  type ExportJobRow,
  type JobKind,
  type JobRowOf,
  type JobStore,
  type LeaseRequest,
  type StoredFileRow,
} from './store.js';

type JobTable = typeof exportJobs | typeof generationJobs;

const p = sql.placeholder;
const tableOf = (kind: JobKind): JobTable => (kind === 'export' ? exportJobs : generationJobs);

/** What every outcome write and release leaves behind: no lease. */
const CLEARED_LEASE = { leaseOwner: null, leaseExpiresAt: null } as const;

/** Running, and nobody's lease is live (the complement of isLeaseLive in lease.ts). */
const claimable = (table: JobTable, now: SQL | Placeholder): SQL =>
  and(sql`${table.status} = 'running'`, or(isNull(table.leaseExpiresAt), lt(table.leaseExpiresAt, now)))!;

/** The WHERE of every lease and outcome write: only the attempt holding a live lease, only once. */
const ownedLive = (table: JobTable): SQL =>
  and(
    eq(table.rid, p('rid')),
    eq(table.leaseOwner, p('owner')),
    eq(table.attempts, p('attempt')),
    sql`${table.status} = 'running'`,
    gte(table.leaseExpiresAt, p('now')),
  )!;

/**
 * The fair pick, in one statement that reads only the database (so it holds between
 * processes sharing it): of the users with running jobs, the one with the fewest jobs
 * rendering (live leases), then the one served least recently (the latest first start of
 * its jobs; never served first), then the one whose oldest claimable job is oldest; and
 * that user's oldest claimable job. So a user's one job waits for at most one render to
 * end, however many jobs others queued; users with equal shares take turns. Scope
 * 'idle-users' keeps only users with nothing rendering (a runner's express slot).
 *
 * Its cost grows with the number of users with running jobs, not with the queue: the
 * users are found by a skip scan of the queue index (one seek each, a recursive CTE),
 * and each user's figures are seeks on the claim indexes (db/schema.ts claimIndexes);
 * `materialized` keeps SQLite from evaluating each user's subqueries again for the ORDER BY.
 */
const fairPick = (table: JobTable, scope: ClaimScope = 'anyone'): SQL => {
  const onlyIdle = scope === 'idle-users' ? sql` and rendering = 0` : sql``;
  const running = sql`${table.status} = 'running'`;
  return sql`${table.rid} = (
    with recursive creators(id) as (
      select (select min(${table.creatorId}) from ${table} where ${running})
      union all
      select (select min(${table.creatorId}) from ${table} where ${running} and ${table.creatorId} > creators.id)
      from creators where creators.id is not null
    ),
    candidates(rid, rendering, served) as materialized (
      select
        (select ${table.rid} from ${table}
          where ${running} and ${table.creatorId} = creators.id and (${table.leaseExpiresAt} is null or ${table.leaseExpiresAt} < ${p('now')})
          order by ${table.createdAt} limit 1),
        (select count(*) from ${table} where ${running} and ${table.creatorId} = creators.id and ${table.leaseExpiresAt} >= ${p('now')}),
        (select ${table.startedAt} from ${table}
          where ${table.creatorId} = creators.id and ${table.startedAt} is not null
          order by ${table.startedAt} desc limit 1)
      from creators where creators.id is not null
    )
    select rid from candidates where rid is not null${onlyIdle}
    order by rendering, served nulls first, (select ${table.createdAt} from ${table} where ${table.rid} = candidates.rid), rid
    limit 1
  )`;
};

/**
 * Sets the lease on the row `which` selects, if nobody holds a live one. The conditional
 * UPDATE is the lock: of two runners (threads or processes) racing for a row only one
 * matches.
 */
function claimUpdate(db: Db, table: JobTable, which: SQL, extra: Record<string, SQL> = {}) {
  // Both job tables share the lease columns; drizzle cannot see that through the union.
  return db
    .update(table as typeof exportJobs)
    .set({
      leaseOwner: sql`${p('owner')}`,
      leaseExpiresAt: sql`${p('leaseExpiresAt')}`,
      attempts: sql`${table.attempts} + 1`,
      // When the first attempt began: the queue's timings, and when the user was last served.
      startedAt: sql`coalesce(${table.startedAt}, ${p('now')})`,
      ...extra,
    })
    .where(and(which, claimable(table, p('now'))))
    .returning()
    .prepare();
}

/**
 * What an export job's claim and release also change: its progress (a new attempt starts
 * rendering from page 0; a released job is queued again) and its version (events.ts).
 */
const EXPORT_CLAIMED = { progressStage: sql`'rendering'`, pagesRendered: sql`0`, version: sql`${exportJobs.version} + 1` };
const EXPORT_RELEASED = { progressStage: sql`null`, pagesRendered: sql`0`, version: sql`${exportJobs.version} + 1` };
/** Every write that changes what an export job answers moves its version on. */
const NEXT_VERSION = { version: sql`${exportJobs.version} + 1` };

function leaseStatements(db: Db, table: JobTable) {
  const isExport = table === exportJobs;
  return {
    claimNext: claimUpdate(db, table, fairPick(table), isExport ? EXPORT_CLAIMED : {}),
    claimNextForIdleUser: claimUpdate(db, table, fairPick(table, 'idle-users'), isExport ? EXPORT_CLAIMED : {}),
    claimByRid: claimUpdate(db, table, eq(table.rid, p('rid')), isExport ? EXPORT_CLAIMED : {}),
    renew: db
      .update(table)
      .set({ leaseExpiresAt: sql`${p('leaseExpiresAt')}` })
      .where(ownedLive(table))
      .prepare(),
    release: db
      .update(table as typeof exportJobs)
      .set({ ...CLEARED_LEASE, attempts: sql`max(${table.attempts} - 1, 0)`, ...(isExport ? EXPORT_RELEASED : {}) })
      .where(ownedLive(table))
      .prepare(),
  };
}

export function createSqliteJobStore(db: Db): JobStore {
  const leases = { export: leaseStatements(db, exportJobs), generation: leaseStatements(db, generationJobs) };
  const documentSource = db.select({ title: documents.title, content: documents.content }).from(documents).where(eq(documents.rid, p('rid'))).prepare();
  const generationJobSource = db
    .select({ content: generationJobs.content, title: templates.title })
    .from(generationJobs)
    .innerJoin(templates, eq(templates.rid, generationJobs.templateRid))
    .where(eq(generationJobs.rid, p('rid')))
    .prepare();
  const markExportSucceeded = db
    .update(exportJobs)
    .set({ status: 'succeeded', fileRid: sql`${p('fileRid')}`, finishedAt: sql`${p('now')}`, ...CLEARED_LEASE, ...NEXT_VERSION })
    .where(ownedLive(exportJobs))
    .prepare();
  const insertFile = db
    .insert(files)
    .values({
      rid: p('rid'),
      exportJobRid: p('exportJobRid'),
      ownerId: p('ownerId'),
      mediaType: p('mediaType'),
      filename: p('filename'),
      sizeBytes: p('sizeBytes'),
      sha256: p('sha256'),
      storageKey: p('storageKey'),
      createdAt: p('createdAt'),
      expiresAt: p('expiresAt'),
    })
    .prepare();
  const failExport = db
    .update(exportJobs)
    .set({
      status: 'failed',
      errorMessage: sql`${p('errorMessage')}`,
      errorCode: sql`${p('errorCode')}`,
      errorInstanceId: sql`${p('errorInstanceId')}`,
      finishedAt: sql`${p('now')}`,
      ...CLEARED_LEASE,
      ...NEXT_VERSION,
    })
    .where(ownedLive(exportJobs))
    .prepare();
  // Throttled by the runner (jobs/progress.ts); only the attempt holding the live lease may write.
  const writeProgress = db
    .update(exportJobs)
    .set({ progressStage: sql`${p('stage')}`, pagesRendered: sql`${p('pagesRendered')}`, ...NEXT_VERSION })
    .where(ownedLive(exportJobs))
    .prepare();
  const templateVersionContent = db
    .select({ content: templateVersions.content })
    .from(templateVersions)
    .where(and(eq(templateVersions.templateRid, p('templateRid')), eq(templateVersions.version, p('version'))))
    .prepare();
  const finishGeneration = db
    .update(generationJobs)
    .set({
      status: sql`${p('status')}`,
      content: sql`${p('content')}`,
      errorMessage: sql`${p('errorMessage')}`,
      finishedAt: sql`${p('now')}`,
      ...CLEARED_LEASE,
    })
    .where(ownedLive(generationJobs))
    .prepare();
  const fileByStorageKey = db.select({ rid: files.rid }).from(files).where(eq(files.storageKey, p('storageKey'))).prepare();
  const exportAttemptState = db
    .select({ status: exportJobs.status, attempts: exportJobs.attempts, leaseExpiresAt: exportJobs.leaseExpiresAt })
    .from(exportJobs)
    .where(eq(exportJobs.rid, p('rid')))
    .prepare();
  const storedBytesOf = db.select({ storedBytes: userUsage.storedBytes }).from(userUsage).where(eq(userUsage.userId, p('userId'))).prepare();
  const storedBytes = (userId: string) => storedBytesOf.get({ userId })?.storedBytes ?? 0;
  // Built once: better-sqlite3 builds a new wrapper function on every transaction() call.
  // Run IMMEDIATE: it reads the user's bytes before it writes, and another process must not
  // commit between the two.
  const commitSuccess = db.$client.transaction(
    (params: { job: ExportJobRow; attempt: Attempt; now: number; file: StoredFileRow; maxHeldBytes: number }): CommitOutcome => {
      const { job, attempt, now, file, maxHeldBytes } = params;
      const held = storedBytes(job.creatorId);
      if (held > maxHeldBytes) return { outcome: 'refused', storedBytes: held };
      if (markExportSucceeded.run({ ...attempt, now, fileRid: file.rid }).changes !== 1) return { outcome: 'lease-lost' };
      insertFile.run({ ...file, exportJobRid: job.rid, ownerId: job.creatorId, createdAt: now, expiresAt: job.expiresAt });
      return { outcome: 'committed' };
    },
  );

  /** What an export job renders: a document, or a succeeded generation job's content. */
  const exportSource = (job: ExportJobRow): ExportInputs['source'] => {
    if (job.sourceType === 'documentSource' && job.documentRid) {
      return documentSource.get({ rid: job.documentRid }) ?? SOURCE_MISSING.document;
    }
    if (job.sourceType === 'generationJobSource' && job.generationJobRid) {
      const generated = generationJobSource.get({ rid: job.generationJobRid });
      return generated?.content ? { title: generated.title, content: generated.content } : SOURCE_MISSING.generation;
    }
    return SOURCE_MISSING.none;
  };

  return {
    async claimNext<K extends JobKind>(kind: K, { owner, now, leaseMs }: LeaseRequest, scope: ClaimScope = 'anyone') {
      const statement = scope === 'idle-users' ? leases[kind].claimNextForIdleUser : leases[kind].claimNext;
      return statement.all({ owner, now, leaseExpiresAt: now + leaseMs })[0] as JobRowOf<K> | undefined;
    },
    async claimGeneration(rid, { owner, now, leaseMs }) {
      return leases.generation.claimByRid.all({ rid, owner, now, leaseExpiresAt: now + leaseMs })[0] as JobRowOf<'generation'> | undefined;
    },
    async renew(kind, attempt, now, leaseMs) {
      return leases[kind].renew.run({ ...attempt, now, leaseExpiresAt: now + leaseMs }).changes === 1;
    },
    async release(kind, attempt, now) {
      return leases[kind].release.run({ ...attempt, now }).changes === 1;
    },
    async exportInputs(job) {
      return { storedBytes: storedBytes(job.creatorId), source: exportSource(job) };
    },
    async commitExportSuccess(job, attempt, now, file, maxHeldBytes) {
      return commitSuccess.immediate({ job, attempt, now, file, maxHeldBytes });
    },
    async storedBytes(userId) {
      return storedBytes(userId);
    },
    async writeProgress(attempt, now, progress) {
      return writeProgress.run({ ...attempt, now, stage: progress.stage, pagesRendered: progress.pagesRendered }).changes === 1;
    },
    async failExport(attempt, now, failure) {
      return failExport.run({ ...attempt, now, errorMessage: failure.message, errorCode: failure.errorCode, errorInstanceId: failure.errorInstanceId }).changes === 1;
    },
    async templateVersionContent(templateRid, version) {
      return templateVersionContent.get({ templateRid, version })?.content;
    },
    async finishGeneration(attempt, now, outcome) {
      return (
        finishGeneration.run({
          ...attempt,
          now,
          status: outcome.status,
          content: outcome.status === 'succeeded' ? JSON.stringify(outcome.content) : null,
          errorMessage: outcome.status === 'failed' ? outcome.errorMessage : null,
        }).changes === 1
      );
    },
    async expiredFiles(now) {
      return db.select({ rid: files.rid, storageKey: files.storageKey }).from(files).where(lte(files.expiresAt, now)).all();
    },
    async deleteExpired(now, fileRids) {
      return db.transaction((tx) => ({
        files: fileRids.length ? tx.delete(files).where(inArray(files.rid, [...fileRids])).run().changes : 0,
        exportJobs: tx.delete(exportJobs).where(lte(exportJobs.expiresAt, now)).run().changes,
        generationJobs: tx.delete(generationJobs).where(lte(generationJobs.expiresAt, now)).run().changes,
        idempotencyKeys: tx.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now)).run().changes,
      }));
    },
    async fileRowExists(storageKey) {
      return fileByStorageKey.get({ storageKey }) !== undefined;
    },
    async exportAttemptState(rid) {
      return exportAttemptState.get({ rid });
    },
  };
}
