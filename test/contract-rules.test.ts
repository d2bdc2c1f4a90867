import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { permissions } from '../db/schema.js';
import { ALL_SCOPES, GenerateTemplateRequest, SCOPES, ScopeSchema, TemplateParameterDeclaration } from '../server/contract/api.js';
import { TemplateContent } from '../server/contract/content.js';
import { NotepadError } from '../server/contract/errors.js';
import { ACTIONS_BY_KIND, GRANT_ACTIONS, type GrantAction, type ResourceKind } from '../server/contract/grants.js';
import { MAX_PARAMETER_NAME_LENGTH, ParameterName } from '../server/contract/parameter-name.js';
import { MarkdownImportError, markdownToTemplate } from '../server/import/markdown.js';
import * as admin from '../server/services/admin.js';
import { createTestEnv, SAMPLE_CONTENT, type TestEnv } from './helpers.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.cleanup());

/**
 * Rules that have one home in server/contract/: each test pins that every place which
 * applies the rule agrees with that home, so a second copy cannot drift unnoticed.
 */

describe('the template parameter-name rule (contract/parameter-name.ts)', () => {
  const longest = 'p'.repeat(MAX_PARAMETER_NAME_LENGTH);
  const names: Array<[string, boolean]> = [
    ['customer', true],
    ['_private', true],
    ['order.total-2', true],
    ['constructor', true],
    [longest, true],
    [`${longest}p`, false],
    ['2nd', false],
    ['-x', false],
    ['.x', false],
    ['a/b', false],
    ['naïve', false],
  ];

  const declares = (name: string) => TemplateParameterDeclaration.safeParse({ name, type: 'string', required: true }).success;
  const imports = (name: string) => {
    try {
      return markdownToTemplate(`{{${name}}}`).parameters.some((p) => p.name === name);
    } catch (error) {
      if (error instanceof MarkdownImportError) return false;
      throw error;
    }
  };

  it.each(names)('"%s": the declaration and the Markdown importer agree (%s)', (name, valid) => {
    expect(ParameterName.safeParse(name).success).toBe(valid);
    expect(declares(name)).toBe(valid);
    expect(imports(name)).toBe(valid);
  });

  it('bounds a parameter node and a request key by the same length', () => {
    const node = (name: string) => ({ blocks: [{ type: 'paragraph', content: [{ type: 'parameter', name }] }] });
    expect(TemplateContent.safeParse(node(longest)).success).toBe(true);
    expect(TemplateContent.safeParse(node(`${longest}p`)).success).toBe(false);
    const request = (name: string) => ({ templateParameters: { [name]: { type: 'string', value: 'v' } } });
    expect(GenerateTemplateRequest.safeParse(request(longest)).success).toBe(true);
    expect(GenerateTemplateRequest.safeParse(request(`${longest}p`)).success).toBe(false);
  });
});

describe('the scopes (contract/api.ts)', () => {
  it('are listed once: the admin API accepts and the CLI issues exactly the SCOPES', async () => {
    expect([...ALL_SCOPES].sort()).toEqual(Object.values(SCOPES).sort());
    for (const scope of ALL_SCOPES) expect(ScopeSchema.safeParse(scope).success).toBe(true);
    expect(ScopeSchema.safeParse('api:notepad-root').success).toBe(false);
  });
});

describe('the grant actions (contract/grants.ts)', () => {
  const actionsHeld = (userId: string, rid: string) =>
    env.deps.db
      .select({ action: permissions.action })
      .from(permissions)
      .where(and(eq(permissions.principalId, userId), eq(permissions.resourceRid, rid)))
      .all()
      .map((row) => row.action)
      .sort();

  function create(kind: ResourceKind, ownerId: string): string {
    switch (kind) {
      case 'document':
        return admin.createDocument(env.deps, { title: 'Doc', content: SAMPLE_CONTENT, ownerId }).documentRid;
      case 'template':
        return admin.createTemplate(env.deps, { title: 'T', ownerId, content: { blocks: [] }, parameters: [] }).templateRid;
      case 'folder':
        return admin.createFolder(env.deps, { name: 'F', ownerId }).folderRid;
    }
  }

  it('are the permissions column, and every kind takes only actions from the list', () => {
    expect(permissions.action.enumValues).toEqual([...GRANT_ACTIONS]);
    expect(new Set(Object.values(ACTIONS_BY_KIND).flat())).toEqual(new Set(GRANT_ACTIONS));
  });

  it.each(Object.keys(ACTIONS_BY_KIND) as ResourceKind[])('a %s: its creator holds every action of the kind, and a grant takes only those', (kind) => {
    const { userId: ownerId } = admin.createUser(env.deps, { name: 'Owner' });
    const { userId } = admin.createUser(env.deps, { name: 'Grantee' });
    const rid = create(kind, ownerId);
    const allowed: readonly GrantAction[] = ACTIONS_BY_KIND[kind];
    expect(actionsHeld(ownerId, rid)).toEqual([...allowed].sort());
    for (const action of GRANT_ACTIONS) {
      if (allowed.includes(action)) {
        expect(admin.grant(env.deps, { userId, resourceRid: rid, action })).toEqual({ granted: true });
      } else {
        const error = (() => {
          try {
            admin.grant(env.deps, { userId, resourceRid: rid, action });
          } catch (caught) {
            return caught;
          }
        })();
        expect(error).toBeInstanceOf(NotepadError);
        expect(error).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'action' } });
      }
    }
    expect(actionsHeld(userId, rid)).toEqual([...allowed].sort());
  });
});
