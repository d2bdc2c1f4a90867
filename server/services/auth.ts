import { createHash, randomBytes } from 'node:crypto';
import { NotepadError } from '../contract/errors.js';
import type { Scope } from '../contract/api.js';
import type { GrantAction } from '../contract/grants.js';
import type { Deps } from '../deps.js';

export interface Principal {
  userId: string;
  name: string;
  canCreateExportJobs: boolean;
  scopes: ReadonlySet<string>;
}

const TOKEN_PREFIX = 'np_';

/** A new bearer token: 256 random bits. Only its hash is ever stored. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Tokens are looked up by their sha256: the comparison happens on a digest in an index,
 * so neither stored plaintext nor a timing side channel on the token itself exists.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The bearer token of an Authorization header value, or undefined if it holds none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * 401 for missing or invalid credentials; the scope check is separate (403). Also returns
 * the token's digest, which per-token limits key on (server/limits/rate-limit.ts).
 */
export async function authenticateToken(deps: Deps, authorization: string | undefined): Promise<{ principal: Principal; tokenHash: string }> {
  const token = bearerToken(authorization);
  if (token === undefined) throw new NotepadError('MissingCredentials');
  if (token.length > 512) throw new NotepadError('InvalidCredentials');
  const tokenHash = hashToken(token);
  const row = await deps.stores.auth.principalByTokenHash(tokenHash);
  const now = deps.now();
  if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) {
    throw new NotepadError('InvalidCredentials');
  }
  return {
    principal: { userId: row.userId, name: row.name, canCreateExportJobs: row.canCreateExportJobs, scopes: new Set(row.scopes) },
    tokenHash,
  };
}

/** 401 for missing or invalid credentials; the scope check is separate (403). */
export async function authenticate(deps: Deps, authorization: string | undefined): Promise<Principal> {
  return (await authenticateToken(deps, authorization)).principal;
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) throw new NotepadError('ApiUsageDenied', { missingScope: scope });
}

/** A request's credentials; `principal` memoises the lookup for the request's lifetime. */
export interface Credentials {
  authorization: string | undefined;
  principal?: Principal;
}

/**
 * Authenticates once per request and checks the scope: 401 before 403, as the contract
 * orders. The REST adapter's check and the procedure's share the one lookup.
 */
export async function principalOf(deps: Deps, credentials: Credentials, scope: Scope): Promise<Principal> {
  credentials.principal ??= await authenticate(deps, credentials.authorization);
  requireScope(credentials.principal, scope);
  return credentials.principal;
}

/**
 * The actions a principal holds on a resource, from the actions granted as stored. Any grant
 * implies `view` (the contract says so of `export`; the same holds for `generate` on
 * templates and `create` on folders).
 */
export function actionsOf(granted: readonly GrantAction[]): Set<GrantAction> {
  const actions = new Set<GrantAction>(granted);
  if (actions.size > 0) actions.add('view');
  return actions;
}
