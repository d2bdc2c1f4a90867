import type { Scope, TemplateParameterDeclaration } from '../contract/api.js';
import { DocumentContent, TemplateContent, type Content } from '../contract/content.js';
import { checkDisplayName } from '../contract/display-name.js';
import { NotepadError } from '../contract/errors.js';
import { ACTIONS_BY_KIND, type GrantAction, type ResourceKind } from '../contract/grants.js';
import { isFolderRid, isRid, newFolderRid, newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import type { OwnerFacts } from '../stores/directory.js';
import { generateToken, hashToken } from './auth.js';
import { newDocument } from './documents.js';

/**
 * Operator actions behind the `admin` router and the CLI. Each is one transaction of its
 * store (stores/decide.ts): it either happens whole or not at all.
 */

type NewUser = { name: string; canCreateExportJobs?: boolean };
const userRow = (deps: Deps, opts: NewUser) => ({ id: deps.uuid(), name: opts.name, canCreateExportJobs: opts.canCreateExportJobs ?? true, createdAt: deps.now() });

export async function createUser(deps: Deps, opts: NewUser): Promise<{ userId: string }> {
  const user = userRow(deps, opts);
  await deps.stores.directory.createUser(user);
  return { userId: user.id };
}

/** The first user of an empty database, or undefined if it has one already (stores/directory.ts createFirstUser). */
export async function createFirstUser(deps: Deps, opts: NewUser): Promise<{ userId: string } | undefined> {
  const user = userRow(deps, opts);
  return (await deps.stores.directory.createFirstUser(user)) ? { userId: user.id } : undefined;
}

function requireUser(facts: OwnerFacts, userId: string): void {
  if (!facts.userExists) throw new NotepadError('UserNotFound', { userId });
}

export async function createToken(
  deps: Deps,
  opts: { userId: string; scopes: readonly Scope[]; expiresInMs?: number | undefined },
): Promise<{ token: string; tokenId: string; expiresAt: number | null }> {
  return deps.stores.auth.createToken(opts.userId, (facts) => {
    requireUser(facts, opts.userId);
    const token = generateToken();
    const tokenId = deps.uuid();
    const now = deps.now();
    const expiresAt = opts.expiresInMs === undefined ? null : now + opts.expiresInMs;
    return {
      answer: { token, tokenId, expiresAt },
      write: { id: tokenId, userId: opts.userId, tokenHash: hashToken(token), scopes: [...new Set(opts.scopes)], expiresAt, createdAt: now },
    };
  });
}

export async function revokeToken(deps: Deps, opts: { token: string }): Promise<{ revoked: boolean }> {
  return { revoked: await deps.stores.auth.revokeToken(hashToken(opts.token), deps.now()) };
}

function parseContent(schema: typeof DocumentContent, content: unknown): Content {
  const parsed = schema.safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NotepadError('InvalidContent', {
      path: issue ? issue.path.join('.') : '',
      message: issue?.message ?? 'invalid content',
    });
  }
  return parsed.data;
}

export async function createDocument(
  deps: Deps,
  opts: { title: string; content: unknown; ownerId: string; parentFolderRid?: string | undefined },
): Promise<{ documentRid: string }> {
  const title = checkDisplayName(opts.title);
  const content = parseContent(DocumentContent, opts.content);
  const { ownerId, parentFolderRid } = opts;
  const created = await deps.stores.directory.createDocument({ ownerId, parentFolderRid }, (facts) => {
    requireUser(facts, ownerId);
    if (parentFolderRid !== undefined) {
      if (!isFolderRid(parentFolderRid)) throw new NotepadError('InvalidFolder', { resourceRid: parentFolderRid });
      if (!facts.folderExists) throw new NotepadError('FolderNotFound', { folderRid: parentFolderRid });
    }
    const document = newDocument(deps, { title, content, ownerId, parentFolderRid });
    return { answer: { documentRid: document.rid }, write: document };
  });
  // Names are unique within a folder (documents without one never clash); report it as the API does.
  if (!created.ok) throw new NotepadError('ResourceNameAlreadyExists', { parentFolderRid: parentFolderRid ?? null, displayName: title });
  return created.value;
}

export async function createFolder(deps: Deps, opts: { name: string; ownerId: string }): Promise<{ folderRid: string }> {
  const name = checkDisplayName(opts.name);
  return deps.stores.directory.createFolder(opts.ownerId, (facts) => {
    requireUser(facts, opts.ownerId);
    const folderRid = newFolderRid(deps.uuid());
    return {
      answer: { folderRid },
      write: { rid: folderRid, name, ownerId: opts.ownerId, createdAt: deps.now(), creatorGrants: ACTIONS_BY_KIND.folder },
    };
  });
}

export interface TemplateVersionInput {
  content: unknown;
  parameters: TemplateParameterDeclaration[];
}

function checkTemplateVersion(input: TemplateVersionInput): { content: Content; parameters: TemplateParameterDeclaration[] } {
  const content = parseContent(TemplateContent, input.content);
  const declared = new Set(input.parameters.map((p) => p.name));
  if (declared.size !== input.parameters.length) {
    throw new NotepadError('InvalidContent', { path: 'parameters', message: 'a parameter is declared twice' });
  }
  return { content, parameters: input.parameters };
}

export async function createTemplate(
  deps: Deps,
  opts: { title: string; ownerId: string } & TemplateVersionInput,
): Promise<{ templateRid: string; version: number }> {
  const title = checkDisplayName(opts.title);
  const version = checkTemplateVersion(opts);
  return deps.stores.directory.createTemplate(opts.ownerId, (facts) => {
    requireUser(facts, opts.ownerId);
    const templateRid = newRid('notepad-template', deps.uuid());
    const now = deps.now();
    return {
      answer: { templateRid, version: 1 },
      write: { rid: templateRid, title, ownerId: opts.ownerId, createdAt: now, creatorGrants: ACTIONS_BY_KIND.template, firstVersion: { ...version, publishedAt: now } },
    };
  });
}

/** Publishes the next integer version of a template. */
export async function publishTemplateVersion(
  deps: Deps,
  opts: { templateRid: string } & TemplateVersionInput,
): Promise<{ templateRid: string; version: number }> {
  const checked = checkTemplateVersion(opts);
  return deps.stores.directory.publishTemplateVersion(opts.templateRid, (facts) => {
    if (!facts.templateExists) throw new NotepadError('TemplateNotFound', { templateRid: opts.templateRid });
    const version = (facts.latestVersion ?? 0) + 1;
    return { answer: { templateRid: opts.templateRid, version }, write: { version, ...checked, publishedAt: deps.now() } };
  });
}

/** The kind of resource a rid names, by its form (whether it exists is the store's to say). */
function kindOfRid(rid: string): ResourceKind | undefined {
  if (isRid('notepad', rid)) return 'document';
  if (isRid('notepad-template', rid)) return 'template';
  if (isFolderRid(rid)) return 'folder';
  return undefined;
}

export async function grant(deps: Deps, opts: { userId: string; resourceRid: string; action: GrantAction }): Promise<{ granted: true }> {
  const kind = kindOfRid(opts.resourceRid);
  return deps.stores.directory.grant({ userId: opts.userId, resourceRid: opts.resourceRid, kind }, (facts) => {
    requireUser(facts, opts.userId);
    if (!kind || !facts.resourceExists) throw new NotepadError('ResourceNotFound', { resourceRid: opts.resourceRid });
    const allowed: readonly GrantAction[] = ACTIONS_BY_KIND[kind];
    if (!allowed.includes(opts.action)) {
      throw new NotepadError('Default:InvalidArgument', {
        parameter: 'action',
        message: `a ${kind} takes one of: ${allowed.join(', ')}`,
      });
    }
    return { answer: { granted: true as const }, write: { userId: opts.userId, resourceRid: opts.resourceRid, action: opts.action, createdAt: deps.now() } };
  });
}

export async function revokeGrant(deps: Deps, opts: { userId: string; resourceRid: string; action: GrantAction }): Promise<{ revoked: boolean }> {
  return { revoked: await deps.stores.directory.revokeGrant(opts) };
}
