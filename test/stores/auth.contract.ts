/** The contract of AuthStore (server/stores/auth.ts), for any backend: tokens by digest, revocation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stores } from '../../server/stores/index.js';
import { addUser, HOUR, T0, type BackendFactory, type StoreBackend } from './backend.js';

export function authStoreContract(name: string, open: BackendFactory): void {
  describe(`AuthStore on ${name}`, () => {
    let backend: StoreBackend;
    let stores: Stores;
    beforeEach(async () => {
      backend = await open();
      stores = backend.stores;
    });
    afterEach(() => backend.close());

    const token = (userId: string, tokenHash: string, expiresAt: number | null = null) =>
      stores.auth.createToken(userId, (f) => ({
        answer: f.userExists,
        write: f.userExists ? { id: `token-${tokenHash}`, userId, tokenHash, scopes: ['api:notepad-export'], expiresAt, createdAt: T0 } : undefined,
      }));

    it('finds a token and its user by digest, with its expiry and revocation as stored', async () => {
      const ada = await addUser(stores, 'Ada');
      expect(await token(ada, 'digest-1', T0 + HOUR)).toBe(true);
      expect(await stores.auth.principalByTokenHash('digest-1')).toEqual({
        userId: ada,
        name: 'Ada',
        canCreateExportJobs: true,
        scopes: ['api:notepad-export'],
        expiresAt: T0 + HOUR,
        revokedAt: null,
      });
      expect(await stores.auth.principalByTokenHash('digest-2')).toBeUndefined();
    });

    it('a token for a user that does not exist is not written (the facts say so)', async () => {
      expect(await token('nobody', 'digest-x')).toBe(false);
      expect(await stores.auth.principalByTokenHash('digest-x')).toBeUndefined();
    });

    it('revoking marks the token, and says whether a token had that digest', async () => {
      const ada = await addUser(stores);
      await token(ada, 'digest-r');
      expect(await stores.auth.revokeToken('digest-r', T0 + 5)).toBe(true);
      expect(await stores.auth.principalByTokenHash('digest-r')).toMatchObject({ revokedAt: T0 + 5 });
      expect(await stores.auth.revokeToken('unknown', T0)).toBe(false);
    });
  });
}
