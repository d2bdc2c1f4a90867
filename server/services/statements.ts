import { and, asc, desc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/index.js';
import { documents, exportJobs, files, generationJobs, idempotencyKeys, permissions, tokens, userUsage, users } from '../../db/schema.js';

const p = sql.placeholder;

/** The columns an ExportJob answer is built from (exportJobStatusOf). */
const EXPORT_JOB_ANSWER = {
  rid: exportJobs.rid,
  status: exportJobs.status,
  fileRid: exportJobs.fileRid,
  errorMessage: exportJobs.errorMessage,
  errorCode: exportJobs.errorCode,
  errorInstanceId: exportJobs.errorInstanceId,
  progressStage: exportJobs.progressStage,
  pagesRendered: exportJobs.pagesRendered,
  version: exportJobs.version,
};

/**
 * Prepared statements for the request hot paths (auth, grants, create/get; the runner's
 * are in jobs/sqlite-store.ts). Preparing once per connection keeps the per-call cost at
 * binding and stepping, close to raw SQLite.
 */
export function createStatements(db: Db) {
  return {
    principalByTokenHash: db
      .select({
        userId: users.id,
        name: users.name,
        canCreateExportJobs: users.canCreateExportJobs,
        scopes: tokens.scopes,
        expiresAt: tokens.expiresAt,
        revokedAt: tokens.revokedAt,
      })
      .from(tokens)
      .innerJoin(users, eq(users.id, tokens.userId))
      .where(eq(tokens.tokenHash, p('hash')))
      .prepare(),
    grantsOn: db
      .select({ action: permissions.action })
      .from(permissions)
      .where(and(eq(permissions.principalId, p('principalId')), eq(permissions.resourceRid, p('rid'))))
      .prepare(),
    documentExists: db.select({ rid: documents.rid }).from(documents).where(eq(documents.rid, p('rid'))).prepare(),
    /**
     * The one lookup of a generation job by its API identity: under that template, not
     * expired, whoever created it (each caller decides what a stranger's job means).
     */
    liveGenerationJob: db
      .select({ rid: generationJobs.rid, creatorId: generationJobs.creatorId, status: generationJobs.status, errorMessage: generationJobs.errorMessage })
      .from(generationJobs)
      .where(
        and(
          eq(generationJobs.rid, p('rid')),
          eq(generationJobs.templateRid, p('templateRid')),
          gt(generationJobs.expiresAt, p('now')),
        ),
      )
      .prepare(),
    /** Kept out of liveGenerationJob: only saveDocument needs the (possibly large) content. */
    generationJobContent: db.select({ content: generationJobs.content }).from(generationJobs).where(eq(generationJobs.rid, p('rid'))).prepare(),
    insertExportJob: db
      .insert(exportJobs)
      .values({
        rid: p('rid'),
        creatorId: p('creatorId'),
        sourceType: p('sourceType'),
        documentRid: p('documentRid'),
        generationJobRid: p('generationJobRid'),
        templateRid: p('templateRid'),
        userLocale: p('userLocale'),
        userTimezone: p('userTimezone'),
        status: 'running',
        createdAt: p('now'),
        expiresAt: p('expiresAt'),
      })
      .prepare(),
    exportJobOf: db
      .select(EXPORT_JOB_ANSWER)
      .from(exportJobs)
      .where(and(eq(exportJobs.rid, p('rid')), eq(exportJobs.creatorId, p('creatorId')), gt(exportJobs.expiresAt, p('now'))))
      .prepare(),
    /** What an export job's watchers read (export-job-watchers.ts): any unexpired job, whoever made it. */
    exportJobChange: db
      .select(EXPORT_JOB_ANSWER)
      .from(exportJobs)
      .where(and(eq(exportJobs.rid, p('rid')), gt(exportJobs.expiresAt, p('now'))))
      .prepare(),
    /** A user's unexpired Idempotency-Key (server/idempotency.ts). */
    idempotencyKeyOf: db
      .select({ requestHash: idempotencyKeys.requestHash, jobRid: idempotencyKeys.jobRid })
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, p('userId')), eq(idempotencyKeys.key, p('key')), gt(idempotencyKeys.expiresAt, p('now'))))
      .prepare(),
    /** Replaces an expired row of the same key (not yet swept): an unexpired one was found by idempotencyKeyOf first. */
    insertIdempotencyKey: db
      .insert(idempotencyKeys)
      .values({
        userId: p('userId'),
        key: p('key'),
        requestHash: p('requestHash'),
        jobRid: p('jobRid'),
        createdAt: p('now'),
        expiresAt: p('expiresAt'),
      })
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: {
          requestHash: sql`excluded.request_hash`,
          jobRid: sql`excluded.job_rid`,
          createdAt: sql`excluded.created_at`,
          expiresAt: sql`excluded.expires_at`,
        },
      })
      .prepare(),
    /**
     * exportJobs.list: a user's unexpired jobs older than a position (created_at, rid),
     * newest first, of one status or any (status null); export_jobs_creator_list_idx.
     */
    exportJobsPage: db
      .select({ ...EXPORT_JOB_ANSWER, createdAt: exportJobs.createdAt })
      .from(exportJobs)
      .where(
        and(
          eq(exportJobs.creatorId, p('creatorId')),
          sql`(${exportJobs.createdAt}, ${exportJobs.rid}) < (${p('beforeCreatedAt')}, ${p('beforeRid')})`,
          gt(exportJobs.expiresAt, p('now')),
          sql`(${p('status')} is null or ${exportJobs.status} = ${p('status')})`,
        ),
      )
      .orderBy(desc(exportJobs.createdAt), desc(exportJobs.rid))
      .limit(p('limit'))
      .prepare(),
    /**
     * exportJobs.cancel: ends a running job `failed` (CANCELLED) and takes its lease away, so
     * the attempt rendering it can neither renew nor commit (jobs/sqlite-store.ts ownedLive).
     */
    cancelExportJob: db
      .update(exportJobs)
      .set({
        status: 'failed',
        errorCode: 'CANCELLED',
        errorMessage: sql`${p('errorMessage')}`,
        finishedAt: sql`${p('now')}`,
        leaseOwner: null,
        leaseExpiresAt: null,
        version: sql`${exportJobs.version} + 1`,
      })
      .where(and(eq(exportJobs.rid, p('rid')), eq(exportJobs.creatorId, p('creatorId')), sql`${exportJobs.status} = 'running'`, gt(exportJobs.expiresAt, p('now'))))
      .prepare(),
    fileByRid: db
      .select()
      .from(files)
      .where(and(eq(files.rid, p('rid')), gt(files.expiresAt, p('now'))))
      .prepare(),
    /** What a user holds, for the quotas (server/quotas.ts); no row means nothing. */
    usageOf: db
      .select({
        activeExportJobs: userUsage.activeExportJobs,
        activeGenerationJobs: userUsage.activeGenerationJobs,
        storedBytes: userUsage.storedBytes,
      })
      .from(userUsage)
      .where(eq(userUsage.userId, p('userId')))
      .prepare(),
    /** When a user's first file expires, and with it some of the user's storage. */
    firstFileExpiry: db
      .select({ expiresAt: files.expiresAt })
      .from(files)
      .where(eq(files.ownerId, p('userId')))
      .orderBy(asc(files.expiresAt))
      .limit(1)
      .prepare(),
    /** When a user's first generated content expires. */
    firstContentExpiry: db
      .select({ expiresAt: generationJobs.expiresAt })
      .from(generationJobs)
      .where(and(eq(generationJobs.creatorId, p('userId')), isNotNull(generationJobs.content)))
      .orderBy(asc(generationJobs.expiresAt))
      .limit(1)
      .prepare(),
  };
}

export type Statements = ReturnType<typeof createStatements>;
