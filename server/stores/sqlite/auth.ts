/** Bearer tokens on SQLite; the lookup by hash is on every request: prepared once. */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../../db/index.js';
import { tokens, users } from '../../../db/schema.js';
import type { AuthStore } from '../auth.js';
import type { OwnerFacts } from '../directory.js';
import { lazyFacts } from './lazy-facts.js';
import type { SharedStatements } from './shared.js';

export function createSqliteAuthStore(db: Db, shared: SharedStatements): AuthStore {
  const principalByTokenHash = db
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
    .where(eq(tokens.tokenHash, sql.placeholder('hash')))
    .prepare();

  return {
    async principalByTokenHash(tokenHash) {
      return principalByTokenHash.get({ hash: tokenHash });
    },
    async createToken(userId, decide) {
      return shared.immediate(() => {
        const { answer, write } = decide(lazyFacts<OwnerFacts>({ userExists: () => shared.user(userId) !== undefined }));
        if (write) db.insert(tokens).values(write).run();
        return answer;
      });
    },
    async revokeToken(tokenHash, now) {
      return db.update(tokens).set({ revokedAt: now }).where(eq(tokens.tokenHash, tokenHash)).run().changes > 0;
    },
  };
}
