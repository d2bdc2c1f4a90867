/**
 * What more than one PostgreSQL store runs inside its own transactions: the transaction
 * that serializes a user's creates, grant lookups and creator grants, a user's usage for the
 * quotas, Idempotency-Keys, unique violations. The SQLite counterpart is sqlite/shared.ts.
 *
 * Check-then-write on PostgreSQL. SQLite gets atomic checks from BEGIN IMMEDIATE (one writer
 * at a time). Here creates run concurrently, on many connections and nodes, under READ
 * COMMITTED, so each decide() method locks what its checks depend on before reading them:
 * - a create of a job (exports.ts, generations.ts) locks its user's user_usage row FOR UPDATE
 *   first (inserting the row if the user has none yet). Every check such a create makes that
 *   another transaction could invalidate is about that user: the quota counts (user_usage,
 *   kept by triggers, whose updates of that row wait for the lock), and the user's
 *   Idempotency-Keys. So two creates of one user run one after the other, and each reads,
 *   after the lock, what the other committed; creates of different users never wait for
 *   each other. Chosen over SERIALIZABLE because it needs no retry loop (a decide() must not
 *   run twice: it would answer twice) and never aborts a create for a false conflict.
 *   Lock order: usage row only, then new rows; the runner's commit locks job, then usage
 *   (jobs/pg-store.ts): no transaction here holds a job row, so no cycle.
 * - names unique in a folder and existing grants are left to the unique indexes (a taken
 *   name is a unique violation, reported as nameTaken; a grant that exists is ON CONFLICT DO
 *   NOTHING), and a version published twice at once to the template row's lock (directory.ts).
 * Users, folders, documents and templates are never deleted, so "exists" read once stays true.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { documents, files, generationJobs, idempotencyKeys, permissions, users, userUsage } from '../../../db/pg/schema.js';
import type { GrantAction } from '../../contract/grants.js';
import type { NewDocument } from '../directory.js';
import type { NewKey } from '../idempotency.js';
import type { Usage, UsageFacts } from '../usage.js';

/** A transaction of drizzle's node-postgres driver (what db.transaction hands its callback). */
export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0];
/** A database or a transaction: the reads below run on either. */
export type PgQueryable = PgDb | PgTx;

const NOTHING: Usage = { activeExportJobs: 0, activeGenerationJobs: 0, storedBytes: 0 };

/** Whether PostgreSQL refused a write for this unique index (unique_violation, SQLSTATE 23505). */
export function isUniqueViolation(error: unknown, index: string): boolean {
  // drizzle wraps the driver's error since 0.44; the pg error is its cause.
  for (let e = error as { code?: string; constraint?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return e.constraint === index;
  }
  return false;
}

/**
 * Locks the users' user_usage rows for the rest of the transaction, in user order (so two
 * transactions locking several never deadlock), and answers each one's usage facts, in one
 * statement (a create of one user waits for the one before it to commit, so every round trip
 * inside the lock is paid by the user's next create too). The expiries are read from the
 * statement's snapshot, which may predate the lock: they only say when storage may free up,
 * and a create that committed meanwhile added nothing that expires sooner. What must be read
 * after the lock (the users' Idempotency-Keys) is read by a later statement.
 * A user with no row yet gets one, all zero, inserted and then locked: two first creates at
 * once both find no row, one inserts, the other's insert waits for it to commit and then does
 * nothing, and each then locks the committed row. A user id that names no user locks nothing
 * and has no entry (its usage is zero: usageOf).
 */
export async function lockUsages(tx: PgTx, userIds: readonly string[]): Promise<Map<string, UsageFacts>> {
  const sorted = [...new Set(userIds)].sort();
  const read = () =>
    tx
      .select({
        userId: userUsage.userId,
        activeExportJobs: userUsage.activeExportJobs,
        activeGenerationJobs: userUsage.activeGenerationJobs,
        storedBytes: userUsage.storedBytes,
        fileExpiresAt: sql`(select min(${files.expiresAt}) from ${files} where ${files.ownerId} = ${userUsage.userId})`.mapWith(Number),
        contentExpiresAt: sql`(select min(${generationJobs.expiresAt}) from ${generationJobs} where ${generationJobs.creatorId} = ${userUsage.userId} and ${generationJobs.content} is not null)`.mapWith(Number),
      })
      .from(userUsage)
      .where(inArray(userUsage.userId, sorted))
      .orderBy(userUsage.userId)
      .for('update', { of: userUsage });
  let rows = await read();
  if (rows.length < sorted.length) {
    const found = new Set(rows.map((row) => row.userId));
    const missing = sorted.filter((id) => !found.has(id));
    await tx.execute(sql`insert into ${userUsage} (user_id) select ${users.id} from ${users} where ${users.id} in ${missing} order by ${users.id} on conflict (user_id) do nothing`);
    rows = await read();
  }
  const usage = new Map<string, UsageFacts>();
  for (const { userId, fileExpiresAt, contentExpiresAt, ...held } of rows) {
    // mapWith is not applied to a SQL null: both are numbers or null here.
    const expiries = [fileExpiresAt, contentExpiresAt].filter((at): at is number => typeof at === 'number');
    usage.set(userId, { usage: held, storageFreesAt: expiries.length ? Math.min(...expiries) : undefined });
  }
  return usage;
}

/** A user's facts from lockUsages: zero usage for one it has no row of. */
export const usageOf = (locked: Map<string, UsageFacts>, userId: string): UsageFacts => locked.get(userId) ?? { usage: NOTHING, storageFreesAt: undefined };

/** lockUsages for one user. */
export async function usageFacts(tx: PgTx, userId: string): Promise<UsageFacts> {
  return usageOf(await lockUsages(tx, [userId]), userId);
}

export async function grantsOn(q: PgQueryable, principalId: string, resourceRid: string): Promise<GrantAction[]> {
  const rows = await q
    .select({ action: permissions.action })
    .from(permissions)
    .where(and(eq(permissions.principalId, principalId), eq(permissions.resourceRid, resourceRid)));
  return rows.map((row) => row.action);
}

export async function insertGrants(tx: PgQueryable, resourceRid: string, principalId: string, actions: readonly GrantAction[], createdAt: number): Promise<void> {
  if (actions.length === 0) return;
  await tx
    .insert(permissions)
    .values(actions.map((action) => ({ principalId, resourceRid, action, createdAt })))
    .onConflictDoNothing();
}

export async function insertDocument(tx: PgTx, doc: NewDocument): Promise<void> {
  await tx.insert(documents).values({
    rid: doc.rid,
    title: doc.title,
    content: doc.content,
    ownerId: doc.ownerId,
    parentFolderRid: doc.parentFolderRid,
    createdAt: doc.createdAt,
    updatedAt: doc.createdAt,
  });
  await insertGrants(tx, doc.rid, doc.ownerId, doc.creatorGrants, doc.createdAt);
}

export async function userById(q: PgQueryable, id: string) {
  const [row] = await q.select({ id: users.id, name: users.name, canCreateExportJobs: users.canCreateExportJobs }).from(users).where(eq(users.id, id));
  return row;
}

/**
 * A key's insert, unrun, for a create that writes its job and key in one statement
 * (generations.ts): an expired row of the same key, not yet swept, is replaced (an unexpired
 * one is a fact the create saw first). The create batch's key insert (export-create-batch.ts)
 * does the same.
 */
export function keyInsert(tx: PgTx, key: NewKey) {
  return tx
    .insert(idempotencyKeys)
    .values([key])
    .onConflictDoUpdate({
      target: [idempotencyKeys.userId, idempotencyKeys.key],
      set: {
        requestHash: sql`excluded.request_hash`,
        jobRid: sql`excluded.job_rid`,
        createdAt: sql`excluded.created_at`,
        expiresAt: sql`excluded.expires_at`,
      },
    });
}
