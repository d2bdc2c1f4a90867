/**
 * Export jobs for the API on SQLite. Creates are group-committed (write-batch.ts): the
 * facts, `decide` and the insert of one create are one unit of the batch's transaction.
 * Every statement is prepared once per connection: per call, only binding and stepping.
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../../db/index.js';
import { exportJobs, files, generationJobs, documents } from '../../../db/schema.js';
import type { ExportCreateFacts, ExportJobStore } from '../exports.js';
import { lazyFacts } from './lazy-facts.js';
import type { SharedStatements } from './shared.js';
import type { WriteBatcher } from './write-batch.js';

const p = sql.placeholder;

/** The columns an ExportJob answer is built from, for get and list alike. */
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

export function createSqliteExportJobStore(db: Db, shared: SharedStatements, writes: WriteBatcher): ExportJobStore {
  const documentExists = db.select({ rid: documents.rid }).from(documents).where(eq(documents.rid, p('rid'))).prepare();
  const liveGenerationJob = db
    .select({ rid: generationJobs.rid, creatorId: generationJobs.creatorId, status: generationJobs.status, errorMessage: generationJobs.errorMessage })
    .from(generationJobs)
    .where(and(eq(generationJobs.rid, p('rid')), eq(generationJobs.templateRid, p('templateRid')), gt(generationJobs.expiresAt, p('now'))))
    .prepare();
  const insertExportJob = db
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
      createdAt: p('createdAt'),
      expiresAt: p('expiresAt'),
    })
    .prepare();
  const exportJobOf = db
    .select(EXPORT_JOB_ANSWER)
    .from(exportJobs)
    .where(and(eq(exportJobs.rid, p('rid')), eq(exportJobs.creatorId, p('creatorId')), gt(exportJobs.expiresAt, p('now'))))
    .prepare();
  // A user's unexpired jobs older than a position (created_at, rid), newest first, of one
  // status or any (status null); export_jobs_creator_list_idx.
  const exportJobsPage = db
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
    .prepare();
  // Takes the lease away too, so the attempt rendering it can neither renew nor commit
  // (jobs/sqlite-store.ts ownedLive).
  const cancelExportJob = db
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
    .prepare();
  /** What an export job's watchers read (services/export-job-watchers.ts): any unexpired job, whoever made it. */
  // The rids as one JSON array parameter, so one prepared statement reads any number of them.
  const exportJobChanges = db
    .select(EXPORT_JOB_ANSWER)
    .from(exportJobs)
    .where(and(sql`${exportJobs.rid} in (select value from json_each(${p('rids')}))`, gt(exportJobs.expiresAt, p('now'))))
    .prepare();
  const fileByRid = db
    .select()
    .from(files)
    .where(and(eq(files.rid, p('rid')), gt(files.expiresAt, p('now'))))
    .prepare();

  return {
    create(request, decide) {
      const { userId, source, keyed, now } = request;
      return writes.run(() => {
        const facts = lazyFacts<ExportCreateFacts>({
          earlier: () => {
            const stored = shared.storedKey(keyed, now);
            return stored && { ...stored, job: exportJobOf.get({ rid: stored.jobRid, creatorId: userId, now }) };
          },
          documentGrants: () => (source.type === 'documentSource' ? shared.grantsOn(userId, source.documentRid) : []),
          documentExists: () => source.type === 'documentSource' && documentExists.get({ rid: source.documentRid }) !== undefined,
          generationJob: () =>
            source.type === 'generationJobSource' ? liveGenerationJob.get({ rid: source.generationJobRid, templateRid: source.templateRid, now }) : undefined,
          ...shared.usageReaders(userId),
        });
        const { answer, write } = decide(facts);
        if (write) {
          const { job, key } = write;
          insertExportJob.run({
            rid: job.rid,
            creatorId: job.creatorId,
            sourceType: job.source.type,
            documentRid: job.source.type === 'documentSource' ? job.source.documentRid : null,
            generationJobRid: job.source.type === 'generationJobSource' ? job.source.generationJobRid : null,
            templateRid: job.source.type === 'generationJobSource' ? job.source.templateRid : null,
            userLocale: job.userLocale,
            userTimezone: job.userTimezone,
            createdAt: job.createdAt,
            expiresAt: job.expiresAt,
          });
          if (key) shared.insertKey(key);
        }
        return answer;
      });
    },
    async get(rid, creatorId, now) {
      return exportJobOf.get({ rid, creatorId, now });
    },
    async changes(rids, now) {
      return exportJobChanges.all({ rids: JSON.stringify(rids), now });
    },
    async page({ creatorId, before, now, status, limit }) {
      return exportJobsPage.all({ creatorId, beforeCreatedAt: before.createdAt, beforeRid: before.rid, now, status: status ?? null, limit });
    },
    async cancel({ rid, creatorId, now, errorMessage }) {
      return cancelExportJob.run({ rid, creatorId, now, errorMessage }).changes === 1;
    },
    async file(rid, now) {
      return fileByRid.get({ rid, now });
    },
  };
}
