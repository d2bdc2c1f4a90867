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

    it('lookups made together each get their own token (a backend may read them in one statement)', async () => {
      const ada = await addUser(stores, 'Ada');
      const grace = await addUser(stores, 'Grace');
      await token(ada, 'digest-a');
      await token(grace, 'digest-g', T0 + HOUR);
      const digests = ['digest-a', 'digest-none', 'digest-g', 'digest-a', ...Array.from({ length: 600 }, (_, i) => `unknown-${i}`), 'digest-g'];
      const rows = await Promise.all(digests.map((digest) => stores.auth.principalByTokenHash(digest)));
      expect(rows.slice(0, 4).map((row) => row?.name)).toEqual(['Ada', undefined, 'Grace', 'Ada']);
      expect(rows[2]).toMatchObject({ userId: grace, expiresAt: T0 + HOUR });
      expect(rows.slice(4, -1).every((row) => row === undefined)).toBe(true);
      expect(rows.at(-1)).toMatchObject({ userId: grace });
    });

    it('a lookup made after a revocation sees it, even while other lookups are in flight', async () => {
      const ada = await addUser(stores);
      await token(ada, 'digest-live');
      const before = stores.auth.principalByTokenHash('digest-live');
      await stores.auth.revokeToken('digest-live', T0 + 7);
      const after = await stores.auth.principalByTokenHash('digest-live');
      expect(after).toMatchObject({ revokedAt: T0 + 7 });
      // The lookup made before may have read the token either way; it still answers.
      expect(await before).toMatchObject({ userId: ada });
    });
  });
}
