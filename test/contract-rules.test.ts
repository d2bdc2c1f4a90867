import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissions } from '../db/schema.js';
import { permissions as pgPermissions } from '../db/pg/schema.js';
import { ALL_SCOPES, GenerateTemplateRequest, SCOPES, ScopeSchema, TemplateParameterDeclaration } from '../server/contract/api.js';
import { TemplateContent } from '../server/contract/content.js';
import { NotepadError } from '../server/contract/errors.js';
import { CONTENT_LIMITS, MAX_CONTENT_JSON_DEPTH, MAX_JSON_DEPTH } from '../server/contract/limits.js';
import { ACTIONS_BY_KIND, GRANT_ACTIONS, type GrantAction, type ResourceKind } from '../server/contract/grants.js';
import { MAX_PARAMETER_NAME_LENGTH, ParameterName } from '../server/contract/parameter-name.js';
import { MarkdownImportError, markdownToTemplate } from '../server/import/markdown.js';
import { buildApp } from '../server/app.js';
import * as admin from '../server/services/admin.js';
import { createTestEnv, SAMPLE_CONTENT, seedDocument, seedUser, type TestEnv } from './helpers.js';

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
  const actionsHeld = async (userId: string, rid: string) =>
    (await env.rows.permissions({ principalId: userId, resourceRid: rid })).map((row) => row.action).sort();

  async function create(kind: ResourceKind, ownerId: string): Promise<string> {
    switch (kind) {
      case 'document':
        return (await admin.createDocument(env.deps, { title: 'Doc', content: SAMPLE_CONTENT, ownerId })).documentRid;
      case 'template':
        return (await admin.createTemplate(env.deps, { title: 'T', ownerId, content: { blocks: [] }, parameters: [] })).templateRid;
      case 'folder':
        return (await admin.createFolder(env.deps, { name: 'F', ownerId })).folderRid;
    }
  }

  it('are the permissions column, and every kind takes only actions from the list', async () => {
    expect(permissions.action.enumValues).toEqual([...GRANT_ACTIONS]);
    expect(pgPermissions.action.enumValues).toEqual([...GRANT_ACTIONS]);
    expect(new Set(Object.values(ACTIONS_BY_KIND).flat())).toEqual(new Set(GRANT_ACTIONS));
  });

  it.each(Object.keys(ACTIONS_BY_KIND) as ResourceKind[])('a %s: its creator holds every action of the kind, and a grant takes only those', async (kind) => {
    const { userId: ownerId } = await admin.createUser(env.deps, { name: 'Owner' });
    const { userId } = await admin.createUser(env.deps, { name: 'Grantee' });
    const rid = await create(kind, ownerId);
    const allowed: readonly GrantAction[] = ACTIONS_BY_KIND[kind];
    expect(await actionsHeld(ownerId, rid)).toEqual([...allowed].sort());
    for (const action of GRANT_ACTIONS) {
      if (allowed.includes(action)) {
        expect(await admin.grant(env.deps, { userId, resourceRid: rid, action })).toEqual({ granted: true });
      } else {
        const error = await admin.grant(env.deps, { userId, resourceRid: rid, action }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(NotepadError);
        expect(error).toMatchObject({ errorName: 'Default:InvalidArgument', parameters: { parameter: 'action' } });
      }
    }
    expect(await actionsHeld(userId, rid)).toEqual([...allowed].sort());
  });
});

describe('the JSON depth limits (contract/limits.ts)', () => {
  type Json = null | number | string | Json[] | { [key: string]: Json };
  /** Levels of objects and arrays, counting the outermost as 1. */
  const depthOf = (value: Json): number =>
    typeof value !== 'object' || value === null ? 0 : 1 + Math.max(0, ...Object.values(value).map(depthOf));
  /** An object `levels` deep. */
  const nested = (levels: number): Json => {
    let value: Json = {};
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };

  /** The deepest content the content rules allow: lists nested to the limit around a table of marked text. */
  function deepestContent(extraLevels = 0): Json {
    let block: Json = {
      type: 'table',
      header: [],
      rows: [[{ content: [{ type: 'text', text: 'x', marks: [{ type: 'bold' }] }] }]],
    };
    for (let i = 1; i < CONTENT_LIMITS.maxDepth + extraLevels; i++) block = { type: 'bulletList', items: [{ content: [block] }] };
    return { blocks: [block] };
  }

  const contentError = async (content: Json) => {
    try {
      await admin.createDocument(env.deps, { title: `Deep ${Math.random()}`, content, ownerId: user.userId });
      return undefined;
    } catch (error) {
      return error;
    }
  };

  let user: { userId: string; token: string };
  beforeAll(async () => {
    user = await seedUser(env.deps);
  });

  it('the deepest legal content fits the content limit, and a body carrying it fits the body limit', async () => {
    const deepest = deepestContent();
    expect(depthOf(deepest)).toBeLessThanOrEqual(MAX_CONTENT_JSON_DEPTH);
    expect(depthOf({ request: { content: deepest } })).toBeLessThanOrEqual(MAX_JSON_DEPTH);
    expect(MAX_CONTENT_JSON_DEPTH).toBeLessThan(MAX_JSON_DEPTH);
    expect(await contentError(deepest)).toBeUndefined();
    expect(await contentError(deepestContent(1))).toMatchObject({ errorName: 'InvalidContent', parameters: { message: expect.stringMatching(/nesting deeper/) } });
  });

  it('content whose JSON nests deeper than the content limit is InvalidContent, even where zod would drop it', async () => {
    // An unknown key is stripped by the schema: only the depth check sees how deep it goes.
    const withJunk = (levels: number): Json => ({ blocks: [], junk: nested(levels - 1) });
    expect(depthOf(withJunk(MAX_CONTENT_JSON_DEPTH))).toBe(MAX_CONTENT_JSON_DEPTH);
    expect(await contentError(withJunk(MAX_CONTENT_JSON_DEPTH))).toBeUndefined();
    expect(await contentError(withJunk(MAX_CONTENT_JSON_DEPTH + 1))).toMatchObject({
      errorName: 'InvalidContent',
      parameters: { message: expect.stringMatching(/nesting deeper/) },
    });
  });

  it('a REST body nested deeper than the body limit is refused before parsing, as Default:InvalidArgument', async () => {
    const app = await buildApp({ deps: env.deps, files: env.files, logger: env.logger });
    try {
      const documentRid = await seedDocument(env.deps, user.userId, { title: 'Depth' });
      const body = (levels: number): Json => ({
        exportJobSource: { type: 'documentSource', documentRid },
        exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' },
        junk: nested(levels - 1),
      });
      const post = (payload: Json) =>
        app.inject({
          method: 'POST',
          url: '/api/v2/notepad/exportJobs/create?preview=true',
          headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
      expect(depthOf(body(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
      const atLimit = await post(body(MAX_JSON_DEPTH));
      expect(atLimit.statusCode).toBe(200);
      const tooDeep = await post(body(MAX_JSON_DEPTH + 1));
      expect(tooDeep.statusCode).toBe(400);
      expect(tooDeep.json()).toMatchObject({
        errorCode: 'INVALID_ARGUMENT',
        errorName: 'Default:InvalidArgument',
        parameters: { parameter: '(body)', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` },
      });
    } finally {
      await app.close();
    }
  });
});
