/**
 * The contract of DirectoryStore (server/stores/directory.ts), for any backend: users,
 * documents, folders, templates and grants, each write with its facts in one transaction.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS_BY_KIND } from '../../server/contract/grants.js';
import { newFolderRid, newRid } from '../../server/contract/rids.js';
import type { Stores } from '../../server/stores/index.js';
import { addDocument, addFolder, addTemplate, addUser, CONTENT, T0, type BackendFactory, type StoreBackend } from './backend.js';

export function directoryStoreContract(name: string, open: BackendFactory): void {
  describe(`DirectoryStore on ${name}`, () => {
    let backend: StoreBackend;
    let stores: Stores;
    beforeEach(async () => {
      backend = await open();
      stores = backend.stores;
    });
    afterEach(() => backend.close());

    it('users: none at first, then the one written, by id', async () => {
      expect(await stores.directory.hasUsers()).toBe(false);
      const ada = await addUser(stores, 'Ada');
      expect(await stores.directory.hasUsers()).toBe(true);
      expect(await stores.directory.user(ada)).toEqual({ id: ada, name: 'Ada', canCreateExportJobs: true });
      expect(await stores.directory.user('nobody')).toBeUndefined();
    });

    // On PostgreSQL the claims run on several pooled connections at once; on SQLite one
    // connection runs them in turn, so there the race across processes is test/roles.test.ts's.
    it('createFirstUser: of claims made together on an empty database exactly one creates its user; later ones create nothing', async () => {
      const claimants = Array.from({ length: 8 }, (_, i) => ({ id: `first-${i}-${Math.random().toString(36).slice(2, 8)}`, name: `Claimant ${i}`, canCreateExportJobs: true, createdAt: T0 }));
      const won = await Promise.all(claimants.map((user) => stores.directory.createFirstUser(user)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = claimants[won.indexOf(true)]!;
      for (const user of claimants) expect(await stores.directory.user(user.id)).toEqual(user === winner ? { id: user.id, name: user.name, canCreateExportJobs: true } : undefined);
      expect(await stores.directory.createFirstUser({ id: 'late', name: 'Late', canCreateExportJobs: true, createdAt: T0 })).toBe(false);
      expect(await stores.directory.user('late')).toBeUndefined();
    });

    it('createFirstUser: a database with any user (made by createUser) creates nothing', async () => {
      await addUser(stores, 'Operator');
      expect(await stores.directory.createFirstUser({ id: 'demo', name: 'Demo', canCreateExportJobs: true, createdAt: T0 })).toBe(false);
      expect(await stores.directory.user('demo')).toBeUndefined();
    });

    it('createDocument: the facts are whether the owner and the folder exist; the creator gets the grants written', async () => {
      const ada = await addUser(stores);
      const folder = await addFolder(stores, ada);
      const facts = (ownerId: string, parentFolderRid: string | undefined) =>
        stores.directory.createDocument({ ownerId, parentFolderRid }, (f) => ({ answer: { userExists: f.userExists, folderExists: f.folderExists } }));
      expect(await facts(ada, folder)).toEqual({ ok: true, value: { userExists: true, folderExists: true } });
      expect(await facts('nobody', newFolderRid())).toEqual({ ok: true, value: { userExists: false, folderExists: false } });
      const doc = await addDocument(stores, ada, { parentFolderRid: folder });
      expect((await stores.directory.grantsOn(ada, doc)).sort()).toEqual(['export', 'view']);
    });

    it('createDocument: a title taken in the folder is reported and nothing is written; outside folders titles never clash', async () => {
      const ada = await addUser(stores);
      const folder = await addFolder(stores, ada);
      await addDocument(stores, ada, { title: 'Report', parentFolderRid: folder });
      const rid = newRid('notepad');
      const again = await stores.directory.createDocument({ ownerId: ada, parentFolderRid: folder }, () => ({
        answer: rid,
        write: { rid, title: 'Report', content: CONTENT, ownerId: ada, parentFolderRid: folder, createdAt: T0, creatorGrants: ACTIONS_BY_KIND.document },
      }));
      expect(again).toEqual({ ok: false, nameTaken: true });
      expect(await stores.directory.grantsOn(ada, rid)).toEqual([]);
      await addDocument(stores, ada, { title: 'Loose' });
      await expect(addDocument(stores, ada, { title: 'Loose' })).resolves.toEqual(expect.any(String));
    });

    it('a decide that throws writes nothing (folder, template, grant)', async () => {
      const ada = await addUser(stores);
      const folder = newFolderRid();
      await expect(stores.directory.createFolder(ada, () => { throw new Error('no'); })).rejects.toThrow('no');
      const template = await addTemplate(stores, ada);
      await expect(stores.directory.publishTemplateVersion(template, () => { throw new Error('no'); })).rejects.toThrow('no');
      expect(await stores.directory.publishTemplateVersion(template, (f) => ({ answer: f.latestVersion }))).toBe(1);
      await expect(stores.directory.grant({ userId: ada, resourceRid: folder, kind: 'folder' }, () => { throw new Error('no'); })).rejects.toThrow('no');
      expect(await stores.directory.grantsOn(ada, folder)).toEqual([]);
    });

    it('templates: version 1 with the template, then the next; the facts say what exists', async () => {
      const ada = await addUser(stores);
      const facts = await stores.directory.createTemplate('nobody', (f) => ({ answer: f.userExists }));
      expect(facts).toBe(false);
      const template = await addTemplate(stores, ada);
      expect((await stores.directory.grantsOn(ada, template)).sort()).toEqual(['generate', 'view']);
      const publish = (rid: string) =>
        stores.directory.publishTemplateVersion(rid, (f) => {
          const version = (f.latestVersion ?? 0) + 1;
          return { answer: { exists: f.templateExists, version }, write: f.templateExists ? { version, content: CONTENT, parameters: [], publishedAt: T0 } : undefined };
        });
      expect(await publish(template)).toEqual({ exists: true, version: 2 });
      expect(await publish(template)).toEqual({ exists: true, version: 3 });
      expect(await publish(newRid('notepad-template'))).toEqual({ exists: false, version: 1 });
    });

    it('grant: the facts say whether the user exists and the resource exists as its kind; an existing grant stays; revoke says whether it took one', async () => {
      const ada = await addUser(stores);
      const bea = await addUser(stores, 'Bea');
      const doc = await addDocument(stores, ada);
      const grant = (userId: string, resourceRid: string, kind: 'document' | 'template' | 'folder' | undefined) =>
        stores.directory.grant({ userId, resourceRid, kind }, (f) => ({
          answer: { userExists: f.userExists, resourceExists: f.resourceExists },
          write: f.userExists && f.resourceExists ? { userId, resourceRid, action: 'view' as const, createdAt: T0 } : undefined,
        }));
      expect(await grant(bea, doc, 'document')).toEqual({ userExists: true, resourceExists: true });
      expect(await grant(bea, doc, 'document')).toEqual({ userExists: true, resourceExists: true });
      expect(await stores.directory.grantsOn(bea, doc)).toEqual(['view']);
      expect(await grant(bea, doc, 'template')).toEqual({ userExists: true, resourceExists: false });
      expect(await grant(bea, doc, undefined)).toEqual({ userExists: true, resourceExists: false });
      expect(await grant('nobody', doc, 'document')).toEqual({ userExists: false, resourceExists: true });
      expect(await stores.directory.revokeGrant({ userId: bea, resourceRid: doc, action: 'view' })).toBe(true);
      expect(await stores.directory.revokeGrant({ userId: bea, resourceRid: doc, action: 'view' })).toBe(false);
      expect(await stores.directory.grantsOn(bea, doc)).toEqual([]);
      expect((await stores.directory.grantsOn(ada, doc)).sort()).toEqual(['export', 'view']);
    });
  });
}
