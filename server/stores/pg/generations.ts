/**
 * Generation jobs for the API on PostgreSQL. A generate locks its user's usage row before
 * reading its facts (shared.ts), so the quota count and the insert cannot be split by
 * another create of that user, on any node.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { folders, generationJobs, templates, templateVersions } from '../../../db/pg/schema.js';
import { JOBS_CHANNEL } from '../../jobs/pg-wakeups.js';
import type { GenerateFacts, GenerationStore, SaveDocumentFacts } from '../generations.js';
import { liveGenerationJob } from './export-rows.js';
import { grantsOn, insertDocument, insertKey, isUniqueViolation, storedKey, usageFacts } from './shared.js';

export function createPgGenerationStore(db: PgDb): GenerationStore {
  const versionColumns = { version: templateVersions.version, parameters: templateVersions.parameters };
  return {
    create(request, decide) {
      const { userId, templateRid, templateVersion, keyed, now } = request;
      return db.transaction(async (tx) => {
        const usage = await usageFacts(tx, userId);
        const [version] =
          templateVersion === undefined
            ? await tx.select(versionColumns).from(templateVersions).where(eq(templateVersions.templateRid, templateRid)).orderBy(desc(templateVersions.version)).limit(1)
            : await tx
                .select(versionColumns)
                .from(templateVersions)
                .where(and(eq(templateVersions.templateRid, templateRid), eq(templateVersions.version, templateVersion)));
        const facts: GenerateFacts = {
          ...usage,
          earlier: await storedKey(tx, keyed, now),
          templateGrants: await grantsOn(tx, userId, templateRid),
          templateExists: (await tx.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, templateRid))).length > 0,
          version,
        };
        const { answer, write } = decide(facts);
        if (write) {
          await tx.insert(generationJobs).values({ ...write.job, status: 'running' });
          if (write.key) await insertKey(tx, write.key);
          await tx.execute(sql`select pg_notify(${JOBS_CHANNEL}, 'generation')`);
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
