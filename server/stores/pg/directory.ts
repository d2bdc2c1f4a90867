/**
 * Users, documents, folders, templates and grants on PostgreSQL. Operator writes are rare:
 * plain queries, each write with its checks in one transaction (shared.ts says what keeps
 * each check true until commit).
 */
import { and, count, eq, max, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { documents, folders, permissions, templates, templateVersions, users } from '../../../db/pg/schema.js';
import type { ResourceKind } from '../../contract/grants.js';
import type { DirectoryStore } from '../directory.js';
import { grantsOn, insertDocument, insertGrants, isUniqueViolation, userById, type PgQueryable } from './shared.js';

const exists = async (q: PgQueryable, table: typeof folders | typeof templates | typeof documents, rid: string): Promise<boolean> =>
  (await q.select({ rid: table.rid }).from(table).where(eq(table.rid, rid))).length > 0;

const TABLE_OF: Record<ResourceKind, typeof folders | typeof templates | typeof documents> = { document: documents, template: templates, folder: folders };

export function createPgDirectoryStore(db: PgDb): DirectoryStore {
  return {
    async createUser(user) {
      await db.insert(users).values(user);
    },
    user(id) {
      return userById(db, id);
    },
    async hasUsers() {
      return ((await db.select({ n: count() }).from(users))[0]?.n ?? 0) > 0;
    },
    async createFirstUser(user) {
      return db.transaction(async (tx) => {
        // A lock that conflicts with itself and with any insert into users: a second claim
        // waits for this transaction's end and then counts its user (READ COMMITTED reads
        // what committed before each statement).
        await tx.execute(sql`lock table ${users} in share row exclusive mode`);
        if (((await tx.select({ n: count() }).from(users))[0]?.n ?? 0) > 0) return false;
        await tx.insert(users).values(user);
        return true;
      });
    },
    async createDocument({ ownerId, parentFolderRid }, decide) {
      try {
        return await db.transaction(async (tx) => {
          const { answer, write } = decide({
            userExists: (await userById(tx, ownerId)) !== undefined,
            folderExists: parentFolderRid !== undefined && (await exists(tx, folders, parentFolderRid)),
          });
          if (write) await insertDocument(tx, write);
          return { ok: true as const, value: answer };
        });
      } catch (error) {
        // Names are unique within a folder: the index decides between concurrent creates.
        if (isUniqueViolation(error, 'documents_folder_title_idx')) return { ok: false, nameTaken: true };
        throw error;
      }
    },
    createFolder(ownerId, decide) {
      return db.transaction(async (tx) => {
        const { answer, write } = decide({ userExists: (await userById(tx, ownerId)) !== undefined });
        if (write) {
          await tx.insert(folders).values({ rid: write.rid, name: write.name, ownerId: write.ownerId, createdAt: write.createdAt });
          await insertGrants(tx, write.rid, write.ownerId, write.creatorGrants, write.createdAt);
        }
        return answer;
      });
    },
    createTemplate(ownerId, decide) {
      return db.transaction(async (tx) => {
        const { answer, write } = decide({ userExists: (await userById(tx, ownerId)) !== undefined });
        if (write) {
          await tx.insert(templates).values({ rid: write.rid, title: write.title, ownerId: write.ownerId, createdAt: write.createdAt });
          await tx.insert(templateVersions).values({ templateRid: write.rid, version: 1, ...write.firstVersion });
          await insertGrants(tx, write.rid, write.ownerId, write.creatorGrants, write.createdAt);
        }
        return answer;
      });
    },
    publishTemplateVersion(templateRid, decide) {
      return db.transaction(async (tx) => {
        // Locking the template row makes concurrent publishes of it take turns, so each reads
        // the version the previous one wrote (the next number is decide's latest + 1).
        const templateExists = (await tx.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, templateRid)).for('update')).length > 0;
        const [latest] = await tx.select({ version: max(templateVersions.version) }).from(templateVersions).where(eq(templateVersions.templateRid, templateRid));
        const { answer, write } = decide({ templateExists, latestVersion: latest?.version ?? undefined });
        if (write) await tx.insert(templateVersions).values({ templateRid, ...write });
        return answer;
      });
    },
    grant({ userId, resourceRid, kind }, decide) {
      return db.transaction(async (tx) => {
        const { answer, write } = decide({
          userExists: (await userById(tx, userId)) !== undefined,
          resourceExists: kind !== undefined && (await exists(tx, TABLE_OF[kind], resourceRid)),
        });
        if (write) await insertGrants(tx, write.resourceRid, write.userId, [write.action], write.createdAt);
        return answer;
      });
    },
    async revokeGrant({ userId, resourceRid, action }) {
      const result = await db
        .delete(permissions)
        .where(and(eq(permissions.principalId, userId), eq(permissions.resourceRid, resourceRid), eq(permissions.action, action)));
      return (result.rowCount ?? 0) > 0;
    },
    grantsOn(principalId, resourceRid) {
      return grantsOn(db, principalId, resourceRid);
    },
  };
}
