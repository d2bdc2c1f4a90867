import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { documents } from '../db/schema.js';
import type { Content } from '../server/contract/content.js';
import { NotepadError } from '../server/contract/errors.js';
import { createCaller } from '../server/routers/index.js';
import { createContextInner } from '../server/trpc.js';
import { callerError, createSqliteTestEnv, seedUser, type SqliteTestEnv } from './helpers.js';

let env: SqliteTestEnv;
let adminToken: string;

beforeAll(async () => {
  env = await createSqliteTestEnv();
  adminToken = (await seedUser(env.deps, { scopes: ['notepad:admin'] })).token;
});
afterAll(() => env.cleanup());

const caller = (token: string) => createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${token}` }));
const documentCount = () => env.db.select({ n: count() }).from(documents).get()?.n ?? 0;
const errorOf = callerError;

describe('admin router (scope notepad:admin)', () => {
  it('creates a user, token, folder, document, template and grants; the token works on the API', async () => {
    const admin = caller(adminToken);
    const { userId } = await admin.admin.users.create({ name: 'Grace' });
    const { token } = await admin.admin.tokens.create({ userId, scopes: ['api:notepad-export'] });
    const { folderRid } = await admin.admin.folders.create({ name: 'Docs', ownerId: userId });
    const content: Content = { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }] };
    const { documentRid } = await admin.admin.documents.create({ title: 'Doc', content, ownerId: userId, parentFolderRid: folderRid });
    const { templateRid, version } = await admin.admin.templates.create({ title: 'T', ownerId: userId, content: { blocks: [] }, parameters: [] });
    expect(version).toBe(1);
    expect((await admin.admin.templates.publish({ templateRid, content: { blocks: [] }, parameters: [] })).version).toBe(2);
    const other = await admin.admin.users.create({ name: 'Other' });
    expect(await admin.admin.grants.create({ userId: other.userId, resourceRid: documentRid, action: 'view' })).toEqual({ granted: true });
    expect(await admin.admin.grants.revoke({ userId: other.userId, resourceRid: documentRid, action: 'view' })).toEqual({ revoked: true });
    const job = await caller(token).notepad.exportJobs.create({
      exportJobSource: { type: 'documentSource', documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
    });
    expect(job.status.type).toBe('running');
    expect(await admin.admin.tokens.revoke({ token })).toEqual({ revoked: true });
    expect((await errorOf(caller(token).notepad.exportJobs.get({ exportJobRid: job.rid })))?.errorName).toBe('InvalidCredentials');
  });

  it('refuses callers without the admin scope', async () => {
    const { token } = await seedUser(env.deps);
    const error = await errorOf(caller(token).admin.users.create({ name: 'x' }));
    expect(error).toMatchObject({ errorName: 'ApiUsageDenied', parameters: { missingScope: 'notepad:admin' } });
  });

  it('rejects invalid content, an action that does not fit the resource, and writes nothing', async () => {
    const admin = caller(adminToken);
    const { userId } = await admin.admin.users.create({ name: 'Ivy' });
    const before = documentCount();
    expect((await errorOf(admin.admin.documents.create({ title: 'Bad', content: { blocks: [{ type: 'video' }] }, ownerId: userId })))?.errorName).toBe('InvalidContent');
    let deep: unknown = { type: 'paragraph', content: [] };
    for (let i = 0; i < 100_000; i++) deep = { type: 'quote', content: [deep] };
    const tooDeep = await errorOf(admin.admin.documents.create({ title: 'Deep', content: { blocks: [deep] }, ownerId: userId }));
    expect(tooDeep).toMatchObject({ errorName: 'InvalidContent', parameters: { message: expect.stringMatching(/nesting deeper/) } });
    expect((await errorOf(admin.admin.documents.create({ title: 'Orphan', content: { blocks: [] }, ownerId: 'nobody' })))?.errorName).toBe('UserNotFound');
    const { documentRid } = await admin.admin.documents.create({ title: 'Ok', content: { blocks: [] }, ownerId: userId });
    expect((await errorOf(admin.admin.grants.create({ userId, resourceRid: documentRid, action: 'generate' })))?.errorName).toBe('Default:InvalidArgument');
    const { folderRid } = await admin.admin.folders.create({ name: 'F', ownerId: userId });
    await admin.admin.documents.create({ title: 'Twice', content: { blocks: [] }, ownerId: userId, parentFolderRid: folderRid });
    const twice = await errorOf(admin.admin.documents.create({ title: 'Twice', content: { blocks: [] }, ownerId: userId, parentFolderRid: folderRid }));
    expect(twice).toMatchObject({ errorName: 'ResourceNameAlreadyExists', parameters: { parentFolderRid: folderRid, displayName: 'Twice' } });
    expect(documentCount()).toBe(before + 2);
  });
  it('one display-name rule for documents, folders and templates: InvalidDisplayName, nothing written', async () => {
    const admin = caller(adminToken);
    const { userId } = await admin.admin.users.create({ name: 'Nia' });
    const before = documentCount();
    const invisible = ['report\u202Efdp.exe', 'zero\u200Bwidth', 'soft\u00ADhyphen', '\uFEFFbom', 'word\u2060joiner', '\u200Djoiner first'];
    for (const name of ['', ' ', '.', '..', 'a/b', 'x'.repeat(701), 'line\nbreak', 'nul\u0000', 'del\u007f', ' leading', 'trailing ', ...invisible]) {
      const attempts = [
        admin.admin.documents.create({ title: name, content: { blocks: [] }, ownerId: userId }),
        admin.admin.folders.create({ name, ownerId: userId }),
        admin.admin.templates.create({ title: name, ownerId: userId, content: { blocks: [] }, parameters: [] }),
      ];
      for (const attempt of attempts) {
        expect(await errorOf(attempt), JSON.stringify(name)).toMatchObject({ errorName: 'InvalidDisplayName', parameters: { displayName: name } });
      }
    }
    expect(documentCount()).toBe(before);
    // Look-alikes are alike: a decomposed é is stored composed, and then clashes with the composed name.
    const { folderRid } = await admin.admin.folders.create({ name: 'Looks', ownerId: userId });
    await admin.admin.documents.create({ title: 'Caf\u00e9', content: { blocks: [] }, ownerId: userId, parentFolderRid: folderRid });
    expect(await errorOf(admin.admin.documents.create({ title: 'Cafe\u0301', content: { blocks: [] }, ownerId: userId, parentFolderRid: folderRid }))).toMatchObject({
      errorName: 'ResourceNameAlreadyExists',
    });
    // Joiners and variation selectors that scripts and emoji need stay allowed inside a name.
    expect((await admin.admin.folders.create({ name: 'Family \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u2764\uFE0F', ownerId: userId })).folderRid).toMatch(/^ri\./);
    expect((await admin.admin.folders.create({ name: '\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645', ownerId: userId })).folderRid).toMatch(/^ri\./);
    const longest = 'é'.repeat(700);
    expect((await admin.admin.documents.create({ title: longest, content: { blocks: [] }, ownerId: userId })).documentRid).toMatch(/^ri\./);
    expect((await admin.admin.folders.create({ name: longest, ownerId: userId })).folderRid).toMatch(/^ri\./);
  });
});
