import { describe, expect, it } from 'vitest';
import { ALL_SCOPES, GenerateTemplateRequest, SCOPES, ScopeSchema, TemplateParameterDeclaration } from '../server/contract/api.js';
import { TemplateContent } from '../server/contract/content.js';
import { MAX_PARAMETER_NAME_LENGTH, ParameterName } from '../server/contract/parameter-name.js';
import { MarkdownImportError, markdownToTemplate } from '../server/import/markdown.js';

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
