/**
 * Users, documents, folders, templates and grants on SQLite. Operator writes are rare:
 * plain Drizzle queries, each write with its checks in one IMMEDIATE transaction.
 */
import { and, count, eq, max } from 'drizzle-orm';
import type { Db } from '../../../db/index.js';
import { documents, folders, permissions, templates, templateVersions, users } from '../../../db/schema.js';
import type { ResourceKind } from '../../contract/grants.js';
import type { DirectoryStore, DocumentFacts, GrantFacts, OwnerFacts, PublishFacts } from '../directory.js';
import { lazyFacts } from './lazy-facts.js';
import type { SharedStatements } from './shared.js';
import { isUniqueViolation } from './unique.js';

export function createSqliteDirectoryStore(db: Db, shared: SharedStatements): DirectoryStore {
  const userExists = (id: string) => shared.user(id) !== undefined;
  const folderExists = (rid: string) => db.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, rid)).get() !== undefined;
  const templateExists = (rid: string) => db.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, rid)).get() !== undefined;
  const documentExists = (rid: string) => db.select({ rid: documents.rid }).from(documents).where(eq(documents.rid, rid)).get() !== undefined;
  const EXISTS: Record<ResourceKind, (rid: string) => boolean> = { document: documentExists, template: templateExists, folder: folderExists };

  return {
    async createUser(user) {
      db.insert(users).values(user).run();
    },
    async user(id) {
      return shared.user(id);
    },
    async hasUsers() {
      return (db.select({ n: count() }).from(users).get()?.n ?? 0) > 0;
    },
    async createFirstUser(user) {
      // IMMEDIATE: the write lock is taken before the count, so another process's claim waits
      // for this one's commit (busy_timeout) and then counts this user.
      return shared.immediate(() => {
        if ((db.select({ n: count() }).from(users).get()?.n ?? 0) > 0) return false;
        db.insert(users).values(user).run();
        return true;
      });
    },
    async createDocument({ ownerId, parentFolderRid }, decide) {
      try {
        return shared.immediate(() => {
          const facts = lazyFacts<DocumentFacts>({
            userExists: () => userExists(ownerId),
            folderExists: () => parentFolderRid !== undefined && folderExists(parentFolderRid),
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
    async createFolder(ownerId, decide) {
      return shared.immediate(() => {
        const { answer, write } = decide(lazyFacts<OwnerFacts>({ userExists: () => userExists(ownerId) }));
        if (write) {
          db.insert(folders).values({ rid: write.rid, name: write.name, ownerId: write.ownerId, createdAt: write.createdAt }).run();
          shared.insertGrants(write.rid, write.ownerId, write.creatorGrants, write.createdAt);
        }
        return answer;
      });
    },
    async createTemplate(ownerId, decide) {
      return shared.immediate(() => {
        const { answer, write } = decide(lazyFacts<OwnerFacts>({ userExists: () => userExists(ownerId) }));
        if (write) {
          db.insert(templates).values({ rid: write.rid, title: write.title, ownerId: write.ownerId, createdAt: write.createdAt }).run();
          db.insert(templateVersions).values({ templateRid: write.rid, version: 1, ...write.firstVersion }).run();
          shared.insertGrants(write.rid, write.ownerId, write.creatorGrants, write.createdAt);
        }
        return answer;
      });
    },
    async publishTemplateVersion(templateRid, decide) {
      return shared.immediate(() => {
        const facts = lazyFacts<PublishFacts>({
          templateExists: () => templateExists(templateRid),
          latestVersion: () => db.select({ version: max(templateVersions.version) }).from(templateVersions).where(eq(templateVersions.templateRid, templateRid)).get()?.version ?? undefined,
        });
        const { answer, write } = decide(facts);
        if (write) db.insert(templateVersions).values({ templateRid, ...write }).run();
        return answer;
      });
    },
    async grant({ userId, resourceRid, kind }, decide) {
      return shared.immediate(() => {
        const facts = lazyFacts<GrantFacts>({
          userExists: () => userExists(userId),
          resourceExists: () => kind !== undefined && EXISTS[kind](resourceRid),
        });
        const { answer, write } = decide(facts);
        if (write) shared.insertGrants(write.resourceRid, write.userId, [write.action], write.createdAt);
        return answer;
      });
    },
    async revokeGrant({ userId, resourceRid, action }) {
      const result = db
        .delete(permissions)
        .where(and(eq(permissions.principalId, userId), eq(permissions.resourceRid, resourceRid), eq(permissions.action, action)))
        .run();
      return result.changes > 0;
    },
    async grantsOn(principalId, resourceRid) {
      return shared.grantsOn(principalId, resourceRid);
    },
  };
}
