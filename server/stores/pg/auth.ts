/** Bearer tokens on PostgreSQL (the lookup by digest is on every request: one indexed join). */
import { eq } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { tokens, users } from '../../../db/pg/schema.js';
import type { AuthStore } from '../auth.js';
import { userById } from './shared.js';

export function createPgAuthStore(db: PgDb): AuthStore {
  return {
    async principalByTokenHash(tokenHash) {
      const [row] = await db
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
        .where(eq(tokens.tokenHash, tokenHash));
      return row;
    },
    createToken(userId, decide) {
      // Users are never deleted: the fact read here holds at commit (the foreign key checks it too).
      return db.transaction(async (tx) => {
        const { answer, write } = decide({ userExists: (await userById(tx, userId)) !== undefined });
        if (write) await tx.insert(tokens).values(write);
        return answer;
      });
    },
    async revokeToken(tokenHash, now) {
      return ((await db.update(tokens).set({ revokedAt: now }).where(eq(tokens.tokenHash, tokenHash))).rowCount ?? 0) > 0;
    },
  };
}
