/** Bearer tokens: only their sha256 is stored (services/auth.ts has the rules). */
import type { Decide } from './decide.js';
import type { OwnerFacts } from './directory.js';

export interface TokenPrincipalRow {
  userId: string;
  name: string;
  canCreateExportJobs: boolean;
  scopes: string[];
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface NewToken {
  id: string;
  userId: string;
  tokenHash: string;
  scopes: string[];
  expiresAt: number | null;
  createdAt: number;
}

export interface AuthStore {
  /** The token with this hash and its user, revoked or expired ones included (the caller decides). */
  principalByTokenHash(tokenHash: string): Promise<TokenPrincipalRow | undefined>;
  createToken<Answer>(userId: string, decide: Decide<OwnerFacts, Answer, NewToken>): Promise<Answer>;
  /** Marks the token revoked at `now`; whether a token had that hash. */
  revokeToken(tokenHash: string, now: number): Promise<boolean>;
}
