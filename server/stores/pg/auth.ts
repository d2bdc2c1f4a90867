/** Bearer tokens on PostgreSQL (the lookup by digest is on every request: one indexed join). */
import { eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { tokens, users } from '../../../db/pg/schema.js';
import type { AuthStore } from '../auth.js';
import { userById } from './shared.js';

export function createPgAuthStore(db: PgDb): AuthStore {
  // A named prepared statement: every request runs it, and PostgreSQL then parses and plans
  // it once per connection instead of on every request.
  const principalByDigest = db
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
    .where(eq(tokens.tokenHash, sql.placeholder('tokenHash')))
    .prepare('notepad_principal_by_token_hash');
  return {
    async principalByTokenHash(tokenHash) {
      const [row] = await principalByDigest.execute({ tokenHash });
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
