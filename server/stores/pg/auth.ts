/** Bearer tokens on PostgreSQL (the lookup by digest is on every request: one indexed join). */
import { eq, sql } from 'drizzle-orm';
import type { PgDb } from '../../../db/pg/index.js';
import { tokens, users } from '../../../db/pg/schema.js';
import type { AuthStore, TokenPrincipalRow } from '../auth.js';
import { createReadBatcher } from './read-batch.js';
import { userById } from './shared.js';

export function createPgAuthStore(db: PgDb): AuthStore {
  // A named prepared statement: it runs for every burst of requests, and PostgreSQL then
  // parses and plans it once per connection instead of every time. The lookups of a burst
  // share it (read-batch.ts).
  const principalsByDigests = db
    .select({
      tokenHash: tokens.tokenHash,
      userId: users.id,
      name: users.name,
      canCreateExportJobs: users.canCreateExportJobs,
      scopes: tokens.scopes,
      expiresAt: tokens.expiresAt,
      revokedAt: tokens.revokedAt,
    })
    .from(tokens)
    .innerJoin(users, eq(users.id, tokens.userId))
    .where(sql`${tokens.tokenHash} = any(${sql.placeholder('tokenHashes')}::text[])`)
    .prepare('notepad_principals_by_token_hashes');
  const principalByTokenHash = createReadBatcher<TokenPrincipalRow>(async (tokenHashes) => {
    const rows = await principalsByDigests.execute({ tokenHashes });
    return new Map(rows.map(({ tokenHash, ...row }) => [tokenHash, row]));
  });
  return {
    principalByTokenHash,
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
