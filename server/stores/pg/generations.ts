/**
 * Generation jobs for the API on PostgreSQL. A generate locks its user's usage row before
 * reading its facts (shared.ts), so the quota count and the insert cannot be split by
 * another create of that user, on any node.
 */
import { eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { folders, generationJobs, idempotencyKeys, permissions, templates, templateVersions } from '../../../db/pg/schema.js';
import type { GrantAction } from '../../contract/grants.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { GenerateFacts, GenerationStore, SaveDocumentFacts } from '../generations.js';
import { liveGenerationJob } from './export-rows.js';
import type { StoredKey } from '../idempotency.js';
import { grantsOn, insertDocument, isUniqueViolation, keyInsert, usageFacts } from './shared.js';

export function createPgGenerationStore(db: PgDb): GenerationStore {
  return {
    create(request, decide) {
      const { userId, templateRid, templateVersion, keyed, now } = request;
      // Five round trips (BEGIN, the lock, the facts, the writes, COMMIT), as an export create
      // batch: a user's next create waits for this one's commit, so each one saved here is
      // saved for every create of the user in a row.
      return db.transaction(async (tx) => {
        const usage = await usageFacts(tx, userId);
        // Read after the lock: the user's key is what their earlier creates committed.
        const { rows } = await tx.execute<{ version: GenerateFacts['version'] | null; earlier: StoredKey | null; grants: GrantAction[]; template_exists: boolean }>(sql`
          select
            (select json_build_object('version', ${templateVersions.version}, 'parameters', ${templateVersions.parameters}) from ${templateVersions}
              where ${templateVersions.templateRid} = ${templateRid}${templateVersion === undefined ? sql`` : sql` and ${templateVersions.version} = ${templateVersion}`}
              order by ${templateVersions.version} desc limit 1) as version,
            ${
              keyed
                ? sql`(select json_build_object('requestHash', ${idempotencyKeys.requestHash}, 'jobRid', ${idempotencyKeys.jobRid}) from ${idempotencyKeys}
              where ${idempotencyKeys.userId} = ${keyed.userId} and ${idempotencyKeys.key} = ${keyed.key} and ${idempotencyKeys.expiresAt} > ${now}::bigint)`
                : sql`null::json`
            } as earlier,
            array(select ${permissions.action} from ${permissions} where ${permissions.principalId} = ${userId} and ${permissions.resourceRid} = ${templateRid}) as grants,
            exists(select 1 from ${templates} where ${templates.rid} = ${templateRid}) as template_exists`);
        const [read] = rows;
        const facts: GenerateFacts = {
          ...usage,
          earlier: read!.earlier ?? undefined,
          templateGrants: read!.grants,
          templateExists: read!.template_exists,
          version: read!.version ?? undefined,
        };
        const { answer, write } = decide(facts);
        if (write) {
          const insertJob = tx.insert(generationJobs).values({ ...write.job, status: 'running' });
          // The job, its key, and the runners' hint (delivered only if this commits), in one statement.
          await tx.execute(
            // getSQL: a builder embedded as itself is parenthesized, which a CTE's body must not be.
            sql`with inserted_job as (${insertJob.getSQL()})${write.key ? sql`, inserted_key as (${keyInsert(tx, write.key).getSQL()})` : sql``} select pg_notify(${JOBS_CHANNEL}, 'generation')`,
          );
        }
        return answer;
      });
    },
    live(rid, templateRid, now) {
      return liveGenerationJob(db, rid, templateRid, now);
    },
    async saveDocument(request, decide) {
      const { userId, templateRid, generationJobRid, parentFolderRid, now } = request;
      try {
        return await db.transaction(async (tx) => {
          const job = await liveGenerationJob(tx, generationJobRid, templateRid, now);
          const [generated] = await tx.select({ content: generationJobs.content }).from(generationJobs).where(eq(generationJobs.rid, generationJobRid));
          const [template] = await tx.select({ title: templates.title }).from(templates).where(eq(templates.rid, templateRid));
          const facts: SaveDocumentFacts = {
            job,
            content: generated?.content ?? null,
            folderGrants: await grantsOn(tx, userId, parentFolderRid),
            folderExists: (await tx.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, parentFolderRid))).length > 0,
            templateTitle: template?.title,
          };
          const { answer, write } = decide(facts);
          if (write) await insertDocument(tx, write);
          return { ok: true as const, value: answer };
        });
      } catch (error) {
        // Names are unique within a folder: the index decides, whoever saved first.
        if (isUniqueViolation(error, 'documents_folder_title_idx')) return { ok: false, nameTaken: true };
        throw error;
      }
    },
  };
}
