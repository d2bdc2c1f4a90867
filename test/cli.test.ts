import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { openDatabase } from '../db/index.js';
import { documents, permissions, templateVersions, tokens, users } from '../db/schema.js';
import { runCli } from '../server/cli.js';
import { hashToken } from '../server/services/auth.js';

let dir: string;
let env: NodeJS.ProcessEnv;

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, unknown> };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function rowCounts() {
  const database = openDatabase(env.NOTEPAD_DB!);
  try {
    const n = (table: typeof users | typeof documents | typeof permissions | typeof tokens) => database.db.select({ n: count() }).from(table).get()?.n ?? 0;
    return { users: n(users), documents: n(documents), permissions: n(permissions), tokens: n(tokens) };
  } finally {
    database.close();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'notepad-cli-'));
  env = { NOTEPAD_DB: join(dir, 'cli.db') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI', () => {
  it('seeds a user, token, folder, documents, template and grants, printing one JSON object each', async () => {
    const user = (await cli('users', 'create', '--name', 'Ada', '--json'));
    expect(user.code).toBe(0);
    const userId = user.json().userId as string;
    expect(user.stdout.trim().split('\n')).toHaveLength(1);

    const token = (await cli('tokens', 'create', '--user', userId, '--scopes', 'api:notepad-export,api:notepad-write', '--expires-in', '1h', '--json')).json();
    expect(token.token).toMatch(/^np_/);
    const database = openDatabase(env.NOTEPAD_DB!);
    const stored = database.db.select().from(tokens).where(eq(tokens.tokenHash, hashToken(token.token as string))).get();
    database.close();
    expect(stored?.scopes).toEqual(['api:notepad-export', 'api:notepad-write']);
    expect(stored!.expiresAt! - stored!.createdAt).toBe(3_600_000);

    const folder = (await cli('folders', 'create', '--name', 'Reports', '--owner', userId, '--json')).json();
    expect(folder.folderRid).toMatch(/^ri\.compass\.main\.folder\./);

    const md = file('doc.md', '# Title\n\nSome **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n');
    const doc = (await cli('documents', 'create', '--title', 'From Markdown', '--markdown', md, '--owner', userId, '--json')).json();
    expect(doc.documentRid).toMatch(/^ri\.notepad\.main\.notepad\./);

    const json = file('doc.json', JSON.stringify({ blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }] }));
    expect((await cli('documents', 'create', '--title', 'From JSON', '--content', json, '--owner', userId, '--json')).code).toBe(0);

    const tpl = file('tpl.md', '# Hello {{name}}\n\nDue {{due?:date}}, amount {{amount:double}}.\n');
    const template = (await cli('templates', 'create', '--title', 'Letter', '--markdown', tpl, '--owner', userId, '--json')).json();
    expect(template).toEqual({ templateRid: expect.stringMatching(/^ri\.notepad\.main\.notepad-template\./), version: 1 });
    const published = (await cli('templates', 'publish', '--template', template.templateRid as string, '--markdown', tpl, '--json')).json();
    expect(published.version).toBe(2);
    const db2 = openDatabase(env.NOTEPAD_DB!);
    const version = db2.db.select().from(templateVersions).where(eq(templateVersions.version, 1)).get();
    db2.close();
    expect(version?.parameters).toEqual([
      { name: 'name', type: 'string', required: true },
      { name: 'due', type: 'date', required: false },
      { name: 'amount', type: 'double', required: true },
    ]);

    const params = file('params.json', JSON.stringify({ templateParameters: { name: { type: 'string', value: 'Ada' }, amount: { type: 'double', value: 3 } } }));
    const started = (await cli('generate', '--template', template.templateRid as string, '--params', params, '--user', userId, '--json')).json();
    expect(started.generationJobRid).toMatch(/^ri\.notepad\.main\.generation-job\./);
    const waited = (await cli('generate', '--template', template.templateRid as string, '--params', params, '--user', userId, '--wait', '--json')).json();
    expect(waited.status).toEqual({ type: 'succeeded' });
    const missing = (await cli('generate', '--template', template.templateRid as string, '--params', file('p2.json', '{"templateParameters":{}}'), '--user', userId, '--json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/MissingGenerationJobTemplateParameters.*amount.*name/);

    const bob = (await cli('users', 'create', '--name', 'Bob', '--no-create-export-jobs', '--json')).json().userId as string;
    expect((await cli('grant', '--user', bob, '--resource', doc.documentRid as string, '--action', 'view', '--json')).json()).toEqual({ granted: true });
    expect((await cli('tokens', 'revoke', '--token', token.token as string, '--json')).json()).toEqual({ revoked: true });
  });

  it('rejects bad arguments and bad files with a message, a non-zero exit, and nothing written', async () => {
    const userId = (await cli('users', 'create', '--name', 'Eve', '--json')).json().userId as string;
    const before = rowCounts();
    const cases: Array<[string[], RegExp]> = [
      [['users', 'create'], /--name is required/],
      [['users', 'create', '--name', 'x', '--bogus'], /Unknown option '--bogus'/],
      [['tokens', 'create', '--user', userId, '--scopes', 'api:everything'], /unknown scope/],
      [['tokens', 'create', '--user', 'nobody', '--scopes', 'api:notepad-export'], /UserNotFound/],
      [['tokens', 'create', '--user', userId, '--scopes', 'api:notepad-export', '--expires-in', 'soon'], /invalid duration/],
      [['documents', 'create', '--title', 'T', '--owner', userId], /exactly one of --markdown or --content/],
      [['documents', 'create', '--title', 'T', '--owner', userId, '--content', join(dir, 'missing.json')], /cannot read .*ENOENT/],
      [['documents', 'create', '--title', 'T', '--owner', userId, '--content', file('bad.json', '{nope')], /not valid JSON/],
      [['documents', 'create', '--title', 'T', '--owner', userId, '--content', file('wrong.json', '{"blocks":[{"type":"video"}]}')], /InvalidContent/],
      [['documents', 'create', '--title', 'T', '--owner', 'nobody', '--content', file('ok.json', '{"blocks":[]}')], /UserNotFound/],
      [['templates', 'create', '--title', 'T', '--owner', userId, '--markdown', file('bad.md', '{{x:colour}}')], /Markdown/],
      [['grant', '--user', userId, '--resource', 'ri.notepad.main.notepad.00000000-0000-4000-8000-000000000000', '--action', 'view'], /ResourceNotFound/],
      [['grant', '--user', userId, '--resource', 'x', '--action', 'own'], /--action must be one of/],
      [['documents', 'create', '--title', 'a/b', '--owner', userId, '--content', file('ok2.json', '{"blocks":[]}')], /InvalidDisplayName/],
      [['documents', 'create', '--title', '..', '--owner', userId, '--markdown', file('ok.md', '# Hi')], /InvalidDisplayName/],
      [['folders', 'create', '--name', 'x'.repeat(701), '--owner', userId], /InvalidDisplayName/],
      [['folders', 'create', '--name', 'tab\tname', '--owner', userId], /InvalidDisplayName/],
      [['templates', 'create', '--title', 'a/b', '--owner', userId, '--markdown', file('t.md', 'Hello {{name}}')], /InvalidDisplayName/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [argv, message] of cases) {
      const result = (await cli(...argv, '--json'));
      expect(result.code, argv.join(' ')).not.toBe(0);
      expect(result.stderr, argv.join(' ')).toMatch(message);
      expect(result.stdout, argv.join(' ')).toBe('');
    }
    expect(rowCounts()).toEqual(before);
  });

  it('a Markdown import that runs past its time limit is stopped with a clear error, and nothing is written', { timeout: 30_000 }, async () => {
    const userId = (await cli('users', 'create', '--name', 'Slow', '--json')).json().userId as string;
    const before = rowCounts();
    const saved = env.NOTEPAD_IMPORT_TIMEOUT_MS;
    env.NOTEPAD_IMPORT_TIMEOUT_MS = '1500';
    try {
      // A shape micromark parses in super-linear time: minutes at this size without the limit.
      const slow = file('slow.md', 'a*'.repeat(80_000));
      const started = Date.now();
      const result = (await cli('documents', 'create', '--title', 'Slow', '--owner', userId, '--markdown', slow, '--json'));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot import the Markdown: the import did not finish within 1500 ms/);
      expect(result.stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(15_000); // stopped, not run to the end
      expect((await cli('templates', 'create', '--title', 'Slow', '--owner', userId, '--markdown', slow)).code).toBe(1);
    } finally {
      env.NOTEPAD_IMPORT_TIMEOUT_MS = saved;
    }
    expect(rowCounts()).toEqual(before);
  });

  it('--help on every command', async () => {
    for (const argv of [[], ['--help'], ['users', 'create', '--help'], ['tokens', 'create', '--help'], ['documents', 'create', '--help'], ['grant', '--help'], ['templates', 'publish', '--help']]) {
      const result = (await cli(...argv));
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/usage:/i);
    }
  });
});
