import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino } from 'pino';
import { ALL_SCOPES, GenerateTemplateRequest, SCOPES, TemplateParameterDeclaration, type Scope } from './contract/api.js';
import { TemplateRid } from './contract/rids.js';
import { runGenerationJob } from './jobs/generation-job.js';
import { claimGenerationJob } from './jobs/lease.js';
import { generateFromTemplate, getGenerationJob } from './services/templates.js';
import { inlineNodesOf, type Content } from './contract/content.js';
import { ERRORS, NotepadError } from './contract/errors.js';
import { ACTIONS_BY_KIND, GRANT_ACTIONS, type GrantAction } from './contract/grants.js';
import { MarkdownImportError } from './import/markdown.js';
import { importMarkdownWithin } from './import/markdown-deadline.js';
import { configFromEnv } from './config.js';
import { createDeps, leasesOf, type Deps } from './deps.js';
import * as admin from './services/admin.js';
import type { Backend } from './stores/index.js';
import { openBackend } from './stores/open.js';

/** A mistake in how the CLI was called: shown with the command's usage, exit code 2. */
class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  usage: string;
  summary: string;
  options: Options;
  run(deps: Deps, values: Values): Record<string, unknown> | Promise<Record<string, unknown>>;
}

const common: Options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function exactlyOne(values: Values, a: string, b: string): 'a' | 'b' {
  const hasA = typeof values[a] === 'string';
  const hasB = typeof values[b] === 'string';
  if (hasA === hasB) throw new UsageError(`give exactly one of --${a} or --${b}`);
  return hasA ? 'a' : 'b';
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match || Number(match[1]) <= 0) throw new UsageError(`invalid duration "${text}" (examples: 30m, 1h, 7d)`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope');
  for (const scope of scopes) {
    if (!(ALL_SCOPES as readonly string[]).includes(scope)) throw new UsageError(`unknown scope "${scope}" (known: ${ALL_SCOPES.join(', ')})`);
  }
  return scopes as Scope[];
}

/** Parameter declarations of JSON template content: each `parameter` node, as a required string. */
function declarationsOf(content: Content): TemplateParameterDeclaration[] {
  const names = new Set<string>();
  for (const node of inlineNodesOf(content.blocks)) if (node.type === 'parameter') names.add(node.name);
  return [...names].map((name) => ({ name, type: 'string', required: true }));
}

/** A template version from --markdown, or from --content holding either content or {content, parameters}. */
function templateVersionFrom(deps: Deps, values: Values): admin.TemplateVersionInput {
  if (exactlyOne(values, 'markdown', 'content') === 'a') return importMarkdownWithin('template', readText(values.markdown as string), deps.config.importTimeoutMs);
  const json = readJson(values.content as string);
  if (typeof json === 'object' && json !== null && 'parameters' in json && 'content' in json) {
    const parsed = TemplateParameterDeclaration.array().safeParse(json.parameters);
    if (!parsed.success) throw new UsageError(`invalid "parameters" in ${values.content as string}: ${parsed.error.issues[0]?.message}`);
    return { content: json.content, parameters: parsed.data };
  }
  const content = json as Content;
  return { content, parameters: Array.isArray(content?.blocks) ? declarationsOf(content) : [] };
}

/** Acts as `userId` (who needs a generate grant); with `wait`, runs the generation here and reports its outcome. */
async function generateCommand(deps: Deps, values: Values): Promise<Record<string, unknown>> {
  const userId = required(values, 'user');
  const templateRid = required(values, 'template');
  const request = GenerateTemplateRequest.safeParse(readJson(required(values, 'params')));
  if (!request.success) {
    const issue = request.error.issues[0];
    throw new UsageError(`invalid --params file: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const user = await deps.stores.directory.user(userId);
  if (!user) throw new NotepadError('UserNotFound', { userId });
  const principal = { userId, name: user.name, canCreateExportJobs: user.canCreateExportJobs, scopes: new Set<string>([SCOPES.write]) };
  const parsedRid = TemplateRid.safeParse(templateRid);
  if (!parsedRid.success) throw new UsageError(`--template: ${parsedRid.error.issues[0]?.message}`);
  const generationJobRid = await generateFromTemplate(deps, principal, { ...request.data, templateRid: parsedRid.data });
  if (!values.wait) return { generationJobRid };
  const owner = `cli-${deps.uuid()}`;
  const job = await claimGenerationJob(leasesOf(deps), generationJobRid, owner);
  if (job) await runGenerationJob(deps, job);
  const status = (await getGenerationJob(deps, principal, parsedRid.data, generationJobRid)).status;
  return { generationJobRid, status };
}

const COMMANDS: Record<string, Command> = {
  generate: {
    usage: 'generate --template TEMPLATE_RID --params PARAMS.json --user ID [--wait]',
    summary:
      'Start a generation job as the user; PARAMS.json is a GenerateTemplateRequest ({"templateParameters": {...}}). With --wait, run it now and print its status. Prints {"generationJobRid"}.',
    options: { template: { type: 'string' }, params: { type: 'string' }, user: { type: 'string' }, wait: { type: 'boolean' } },
    run: generateCommand,
  },
  'users create': {
    usage: 'users create --name NAME [--no-create-export-jobs]',
    summary: 'Create a user. Prints {"userId"}.',
    options: { name: { type: 'string' }, 'no-create-export-jobs': { type: 'boolean' } },
    run: (deps, v) => admin.createUser(deps, { name: required(v, 'name'), canCreateExportJobs: v['no-create-export-jobs'] !== true }),
  },
  'tokens create': {
    usage: 'tokens create --user ID --scopes api:notepad-export,api:notepad-write[,notepad:admin] [--expires-in 1h]',
    summary: 'Issue a bearer token (shown once; only its hash is stored). Prints {"token"}.',
    options: { user: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' } },
    run: async (deps, v) => {
      const expiresInMs = typeof v['expires-in'] === 'string' ? parseDuration(v['expires-in']) : undefined;
      const { token, tokenId, expiresAt } = await admin.createToken(deps, { userId: required(v, 'user'), scopes: parseScopes(required(v, 'scopes')), expiresInMs });
      return { token, tokenId, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
    },
  },
  'tokens revoke': {
    usage: 'tokens revoke --token TOKEN',
    summary: 'Revoke a token. Prints {"revoked"}.',
    options: { token: { type: 'string' } },
    run: (deps, v) => admin.revokeToken(deps, { token: required(v, 'token') }),
  },
  'documents create': {
    usage: 'documents create --title TITLE (--markdown FILE.md | --content FILE.json) --owner ID [--folder FOLDER_RID]',
    summary: `Create a document from Markdown or a JSON content tree; the owner gets ${ACTIONS_BY_KIND.document.join(' and ')} grants. Prints {"documentRid"}.`,
    options: { title: { type: 'string' }, markdown: { type: 'string' }, content: { type: 'string' }, owner: { type: 'string' }, folder: { type: 'string' } },
    run: (deps, v) => {
      const title = required(v, 'title');
      const ownerId = required(v, 'owner');
      const content =
        exactlyOne(v, 'markdown', 'content') === 'a'
          ? importMarkdownWithin('document', readText(v.markdown as string), deps.config.importTimeoutMs).content
          : readJson(v.content as string);
      return admin.createDocument(deps, { title, content, ownerId, parentFolderRid: typeof v.folder === 'string' ? v.folder : undefined });
    },
  },
  'folders create': {
    usage: 'folders create --name NAME --owner ID',
    summary: `Create a folder; the owner gets ${ACTIONS_BY_KIND.folder.join(' and ')} grants. Prints {"folderRid"}.`,
    options: { name: { type: 'string' }, owner: { type: 'string' } },
    run: (deps, v) => admin.createFolder(deps, { name: required(v, 'name'), ownerId: required(v, 'owner') }),
  },
  'templates create': {
    usage: 'templates create --title TITLE (--markdown FILE.md | --content FILE.json) --owner ID',
    summary: 'Create a template and publish version 1; parameters come from {{name:type}} in Markdown. Prints {"templateRid","version"}.',
    options: { title: { type: 'string' }, markdown: { type: 'string' }, content: { type: 'string' }, owner: { type: 'string' } },
    run: (deps, v) => {
      const title = required(v, 'title');
      const ownerId = required(v, 'owner');
      return admin.createTemplate(deps, { title, ownerId, ...templateVersionFrom(deps, v) });
    },
  },
  'templates publish': {
    usage: 'templates publish --template TEMPLATE_RID (--markdown FILE.md | --content FILE.json)',
    summary: 'Publish the next version of a template. Prints {"templateRid","version"}.',
    options: { template: { type: 'string' }, markdown: { type: 'string' }, content: { type: 'string' } },
    run: (deps, v) => admin.publishTemplateVersion(deps, { templateRid: required(v, 'template'), ...templateVersionFrom(deps, v) }),
  },
  grant: {
    usage: `grant --user ID --resource RID --action ${GRANT_ACTIONS.join('|')}`,
    summary:
      `Grant a user an action on a document (${ACTIONS_BY_KIND.document.join(', ')}), template (${ACTIONS_BY_KIND.template.join(', ')}) ` +
      `or folder (${ACTIONS_BY_KIND.folder.join(', ')}). Prints {"granted"}.`,
    options: { user: { type: 'string' }, resource: { type: 'string' }, action: { type: 'string' } },
    run: (deps, v) => {
      const action = required(v, 'action');
      if (!(GRANT_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`--action must be one of ${GRANT_ACTIONS.join(', ')}`);
      return admin.grant(deps, { userId: required(v, 'user'), resourceRid: required(v, 'resource'), action: action as GrantAction });
    },
  },
};

function helpText(): string {
  const lines = ['Usage: npm run -s notepad -- <command> [options] [--json]', '', 'Commands:'];
  for (const command of Object.values(COMMANDS)) lines.push(`  ${command.usage}`, `      ${command.summary}`);
  lines.push('', 'The database is NOTEPAD_DB (default ./data/notepad.db; a postgres:// URL selects PostgreSQL). --json prints exactly one JSON object.', '');
  return lines.join('\n');
}

function humanOutput(result: Record<string, unknown>): string {
  return Object.entries(result).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join('\n') + '\n';
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Runs one CLI invocation; resolves with the exit code (0 ok, 1 rejected input, 2 usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  const name = [words.slice(0, 2).join(' '), words[0] ?? ''].find((key) => key in COMMANDS);
  if (!name) {
    const wantsHelp = argv.length === 0 || argv.includes('--help') || argv.includes('-h');
    (wantsHelp ? io.stdout : io.stderr)(wantsHelp ? helpText() : `unknown command "${words.join(' ')}"\n\n${helpText()}`);
    return wantsHelp ? 0 : 2;
  }
  const command = COMMANDS[name]!;
  const rest = argv.slice(name.split(' ').length);
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: { ...common, ...command.options }, strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\nusage: npm run -s notepad -- ${command.usage}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(`usage: npm run -s notepad -- ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  let backend: Backend | undefined;
  try {
    const config = configFromEnv(io.env ?? process.env);
    backend = await openBackend(config.database);
    const deps = createDeps({ stores: backend.stores, config, logger: pino({ level: 'silent' }) });
    const result = await command.run(deps, values);
    io.stdout(values.json ? `${JSON.stringify(result)}\n` : humanOutput(result));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\nusage: npm run -s notepad -- ${command.usage}\n`);
      return 2;
    }
    if (error instanceof NotepadError) {
      const params = Object.keys(error.parameters).length ? ` ${JSON.stringify(error.parameters)}` : '';
      io.stderr(`error: ${error.errorName}: ${ERRORS[error.errorName].description}${params}\n`);
      return 1;
    }
    if (error instanceof MarkdownImportError) {
      io.stderr(`error: cannot import the Markdown: ${error.message}\n`);
      return 1;
    }
    io.stderr(`error: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await backend?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
