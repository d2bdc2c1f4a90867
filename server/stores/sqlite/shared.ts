/**
 * Statements more than one SQLite store runs inside its own transactions: grant lookups and
 * creator grants, a user's usage for the quotas, Idempotency-Keys. Prepared once per
 * connection (createSqliteStores builds them once and hands them to each store).
 */
import { and, asc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../../../db/index.js';
import { documents, files, generationJobs, idempotencyKeys, permissions, users, userUsage } from '../../../db/schema.js';
import type { NewDocument } from '../directory.js';
import type { GrantAction } from '../../contract/grants.js';
import type { KeyedRequest, NewKey, StoredKey } from '../idempotency.js';
import type { Usage, UsageFacts } from '../usage.js';
import type { Readers } from './lazy-facts.js';

const p = sql.placeholder;
const NOTHING: Usage = { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 };

export function createSharedStatements(db: Db) {
  const grantsOn = db
    .select({ action: permissions.action })
    .from(permissions)
    .where(and(eq(permissions.principalId, p('principalId')), eq(permissions.resourceRid, p('rid'))))
    .prepare();
  const insertGrant = db
    .insert(permissions)
    .values({ principalId: p('principalId'), resourceRid: p('resourceRid'), action: p('action'), createdAt: p('createdAt') })
    .onConflictDoNothing()
    .prepare();
  const userById = db.select({ id: users.id, name: users.name, canCreateExportJobs: users.canCreateExportJobs }).from(users).where(eq(users.id, p('id'))).prepare();
  // user_usage is kept by triggers in the transaction of every job and file write (db/schema.ts).
  const usageOf = db
    .select({ activeExportJobs: userUsage.activeExportJobs, activeGenerationJobs: userUsage.activeGenerationJobs, storedBytes: userUsage.storedBytes })
    .from(userUsage)
    .where(eq(userUsage.userId, p('userId')))
    .prepare();
  const firstFileExpiry = db.select({ expiresAt: files.expiresAt }).from(files).where(eq(files.ownerId, p('userId'))).orderBy(asc(files.expiresAt)).limit(1).prepare();
  const firstContentExpiry = db
    .select({ expiresAt: generationJobs.expiresAt })
    .from(generationJobs)
    .where(and(eq(generationJobs.creatorId, p('userId')), isNotNull(generationJobs.content)))
    .orderBy(asc(generationJobs.expiresAt))
    .limit(1)
    .prepare();
  const keyOf = db
    .select({ requestHash: idempotencyKeys.requestHash, jobRid: idempotencyKeys.jobRid })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, p('userId')), eq(idempotencyKeys.key, p('key')), gt(idempotencyKeys.expiresAt, p('now'))))
    .prepare();
  // Replaces an expired row of the same key (not yet swept): an unexpired one is a fact the create saw first.
  const insertKey = db
    .insert(idempotencyKeys)
    .values({ userId: p('userId'), key: p('key'), requestHash: p('requestHash'), jobRid: p('jobRid'), createdAt: p('createdAt'), expiresAt: p('expiresAt') })
    .onConflictDoUpdate({
      target: [idempotencyKeys.userId, idempotencyKeys.key],
      set: {
        requestHash: sql`excluded.request_hash`,
        jobRid: sql`excluded.job_rid`,
        createdAt: sql`excluded.created_at`,
        expiresAt: sql`excluded.expires_at`,
      },
    })
    .prepare();

  // Built once: better-sqlite3 builds a new wrapper function on every transaction() call.
  const transaction = db.$client.transaction((work: () => unknown) => work());

  const insertGrants = (resourceRid: string, principalId: string, actions: readonly GrantAction[], createdAt: number): void => {
    for (const action of actions) insertGrant.run({ principalId, resourceRid, action, createdAt });
  };

  return {
    /**
     * Runs `work` in an IMMEDIATE transaction: it takes the write lock before the first read,
     * so what `work` checks cannot change, here or in another process, before it writes.
     */
    immediate: <T>(work: () => T): T => transaction.immediate(work) as T,
    /** Inserts a document and its creator's grants; call inside a transaction. */
    insertDocument(doc: NewDocument): void {
      // Not prepared: documents are made by operators and saves, not on a hot path.
      db.insert(documents)
        .values({ rid: doc.rid, title: doc.title, content: doc.content, ownerId: doc.ownerId, parentFolderRid: doc.parentFolderRid, createdAt: doc.createdAt, updatedAt: doc.createdAt })
        .run();
      insertGrants(doc.rid, doc.ownerId, doc.creatorGrants, doc.createdAt);
    },
    grantsOn: (principalId: string, rid: string): GrantAction[] => grantsOn.all({ principalId, rid }).map((row) => row.action),
    insertGrants,
    user: (id: string) => userById.get({ id }),
    /** The readers of UsageFacts for one user. */
    usageReaders: (userId: string): Readers<UsageFacts> => ({
      usage: () => usageOf.get({ userId }) ?? NOTHING,
      storageFreesAt: () => {
        const expiries = [firstFileExpiry.get({ userId })?.expiresAt, firstContentExpiry.get({ userId })?.expiresAt].filter((at): at is number => at !== undefined);
        return expiries.length ? Math.min(...expiries) : undefined;
      },
    }),
    storedKey: (keyed: KeyedRequest | undefined, now: number): StoredKey | undefined => (keyed ? keyOf.get({ userId: keyed.userId, key: keyed.key, now }) : undefined),
    insertKey: (key: NewKey): void => void insertKey.run({ ...key }),
  };
}

export type SharedStatements = ReturnType<typeof createSharedStatements>;
