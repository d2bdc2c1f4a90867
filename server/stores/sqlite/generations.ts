/**
 * Generation jobs for the API on SQLite. A generate's facts, `decide` and insert are one
 * IMMEDIATE transaction, so the quota count and the insert cannot be split by another
 * create, here or in another process.
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../../db/index.js';
import { folders, generationJobs, templates, templateVersions } from '../../../db/schema.js';
import type { GenerateFacts, GenerationStore, SaveDocumentFacts } from '../generations.js';
import { lazyFacts } from './lazy-facts.js';
import type { SharedStatements } from './shared.js';
import { isUniqueViolation } from './unique.js';

const p = sql.placeholder;

export function createSqliteGenerationStore(db: Db, shared: SharedStatements): GenerationStore {
  const liveGenerationJob = db
    .select({ rid: generationJobs.rid, creatorId: generationJobs.creatorId, status: generationJobs.status, errorMessage: generationJobs.errorMessage })
    .from(generationJobs)
    .where(and(eq(generationJobs.rid, p('rid')), eq(generationJobs.templateRid, p('templateRid')), gt(generationJobs.expiresAt, p('now'))))
    .prepare();
  // Kept out of liveGenerationJob: only saveDocument needs the (possibly large) content.
  const generationJobContent = db.select({ content: generationJobs.content }).from(generationJobs).where(eq(generationJobs.rid, p('rid'))).prepare();
  const template = db.select({ rid: templates.rid, title: templates.title }).from(templates).where(eq(templates.rid, p('rid'))).prepare();
  const folderExists = db.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, p('rid'))).prepare();
  const versionColumns = { version: templateVersions.version, parameters: templateVersions.parameters };
  const latestVersion = db
    .select(versionColumns)
    .from(templateVersions)
    .where(eq(templateVersions.templateRid, p('templateRid')))
    .orderBy(desc(templateVersions.version))
    .limit(1)
    .prepare();
  const versionOf = db
    .select(versionColumns)
    .from(templateVersions)
    .where(and(eq(templateVersions.templateRid, p('templateRid')), eq(templateVersions.version, p('version'))))
    .prepare();

  return {
    async create(request, decide) {
      const { userId, templateRid, templateVersion, keyed, now } = request;
      return shared.immediate(() => {
        const facts = lazyFacts<GenerateFacts>({
          earlier: () => shared.storedKey(keyed, now),
          templateGrants: () => shared.grantsOn(userId, templateRid),
          templateExists: () => template.get({ rid: templateRid }) !== undefined,
          version: () => (templateVersion === undefined ? latestVersion.get({ templateRid }) : versionOf.get({ templateRid, version: templateVersion })),
          ...shared.usageReaders(userId),
        });
        const { answer, write } = decide(facts);
        if (write) {
          // Not prepared: the JSON parameters column maps its value only outside placeholders.
          db.insert(generationJobs).values({ ...write.job, status: 'running' }).run();
          if (write.key) shared.insertKey(write.key);
        }
        return answer;
      });
    },
    async live(rid, templateRid, now) {
      return liveGenerationJob.get({ rid, templateRid, now });
    },
    async saveDocument(request, decide) {
      const { userId, templateRid, generationJobRid, parentFolderRid, now } = request;
      try {
        return shared.immediate(() => {
          const facts = lazyFacts<SaveDocumentFacts>({
            job: () => liveGenerationJob.get({ rid: generationJobRid, templateRid, now }),
            content: () => generationJobContent.get({ rid: generationJobRid })?.content ?? null,
            folderGrants: () => shared.grantsOn(userId, parentFolderRid),
            folderExists: () => folderExists.get({ rid: parentFolderRid }) !== undefined,
            templateTitle: () => template.get({ rid: templateRid })?.title,
          });
          const { answer, write } = decide(facts);
          if (write) shared.insertDocument(write);
          return { ok: true as const, value: answer };
        });
      } catch (error) {
        // Names are unique within a folder (documents_folder_title_idx).
        if (isUniqueViolation(error)) return { ok: false, nameTaken: true };
        throw error;
      }
    },
  };
}
