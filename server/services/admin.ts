import { and, eq, max } from 'drizzle-orm';
import { documents, folders, permissions, templates, templateVersions, tokens, users } from '../../db/schema.js';
import type { Scope, TemplateParameterDeclaration } from '../contract/api.js';
import { DocumentContent, TemplateContent, type Content } from '../contract/content.js';
import { checkDisplayName } from '../contract/display-name.js';
import { NotepadError } from '../contract/errors.js';
import { ACTIONS_BY_KIND, type GrantAction, type ResourceKind } from '../contract/grants.js';
import { isFolderRid, isRid, newFolderRid, newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { generateToken, grantCreator, hashToken } from './auth.js';
import { insertDocument, isUniqueViolation } from './documents.js';

/**
 * Operator actions behind the `admin` router and the CLI. Each is one synchronous
 * transaction: it either happens whole or not at all.
 */

export function createUser(deps: Deps, opts: { name: string; canCreateExportJobs?: boolean }): { userId: string } {
  const userId = deps.uuid();
  deps.db
    .insert(users)
    .values({ id: userId, name: opts.name, canCreateExportJobs: opts.canCreateExportJobs ?? true, createdAt: deps.now() })
    .run();
  return { userId };
}

function requireUser(deps: Deps, userId: string): void {
  const row = deps.db.select({ id: users.id }).from(users).where(eq(users.id, userId)).get();
  if (!row) throw new NotepadError('UserNotFound', { userId });
}

export function createToken(
  deps: Deps,
  opts: { userId: string; scopes: readonly Scope[]; expiresInMs?: number | undefined },
): { token: string; tokenId: string; expiresAt: number | null } {
  requireUser(deps, opts.userId);
  const token = generateToken();
  const tokenId = deps.uuid();
  const now = deps.now();
  const expiresAt = opts.expiresInMs === undefined ? null : now + opts.expiresInMs;
  deps.db
    .insert(tokens)
    .values({ id: tokenId, userId: opts.userId, tokenHash: hashToken(token), scopes: [...new Set(opts.scopes)], expiresAt, createdAt: now })
    .run();
  return { token, tokenId, expiresAt };
}

export function revokeToken(deps: Deps, opts: { token: string }): { revoked: boolean } {
  const result = deps.db
    .update(tokens)
    .set({ revokedAt: deps.now() })
    .where(eq(tokens.tokenHash, hashToken(opts.token)))
    .run();
  return { revoked: result.changes > 0 };
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

function requireFolder(deps: Deps, folderRid: string): void {
  if (!isFolderRid(folderRid)) throw new NotepadError('InvalidFolder', { resourceRid: folderRid });
  const row = deps.db.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, folderRid)).get();
  if (!row) throw new NotepadError('FolderNotFound', { folderRid });
}

export function createDocument(
  deps: Deps,
  opts: { title: string; content: unknown; ownerId: string; parentFolderRid?: string | undefined },
): { documentRid: string } {
  opts = { ...opts, title: checkDisplayName(opts.title) };
  const content = parseContent(DocumentContent, opts.content);
  const { parentFolderRid } = opts;
  try {
    return deps.db.transaction(() => {
      requireUser(deps, opts.ownerId);
      if (parentFolderRid !== undefined) requireFolder(deps, parentFolderRid);
      return insertDocument(deps, { ...opts, content });
    });
  } catch (error) {
    // Names are unique within a folder (the index says so); report it as the API does.
    if (parentFolderRid !== undefined && isUniqueViolation(error)) {
      throw new NotepadError('ResourceNameAlreadyExists', { parentFolderRid, displayName: opts.title });
    }
    throw error;
  }
}

export function createFolder(deps: Deps, opts: { name: string; ownerId: string }): { folderRid: string } {
  opts = { ...opts, name: checkDisplayName(opts.name) };
  return deps.db.transaction(() => {
    requireUser(deps, opts.ownerId);
    const folderRid = newFolderRid(deps.uuid());
    const now = deps.now();
    deps.db.insert(folders).values({ rid: folderRid, name: opts.name, ownerId: opts.ownerId, createdAt: now }).run();
    grantCreator(deps, 'folder', opts.ownerId, folderRid, now);
    return { folderRid };
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

export function createTemplate(
  deps: Deps,
  opts: { title: string; ownerId: string } & TemplateVersionInput,
): { templateRid: string; version: number } {
  opts = { ...opts, title: checkDisplayName(opts.title) };
  const version = checkTemplateVersion(opts);
  return deps.db.transaction(() => {
    requireUser(deps, opts.ownerId);
    const templateRid = newRid('notepad-template', deps.uuid());
    const now = deps.now();
    deps.db.insert(templates).values({ rid: templateRid, title: opts.title, ownerId: opts.ownerId, createdAt: now }).run();
    deps.db.insert(templateVersions).values({ templateRid, version: 1, ...version, publishedAt: now }).run();
    grantCreator(deps, 'template', opts.ownerId, templateRid, now);
    return { templateRid, version: 1 };
  });
}

/** Publishes the next integer version of a template. */
export function publishTemplateVersion(
  deps: Deps,
  opts: { templateRid: string } & TemplateVersionInput,
): { templateRid: string; version: number } {
  const checked = checkTemplateVersion(opts);
  return deps.db.transaction(() => {
    const template = deps.db.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, opts.templateRid)).get();
    if (!template) throw new NotepadError('TemplateNotFound', { templateRid: opts.templateRid });
    const latest = deps.db
      .select({ version: max(templateVersions.version) })
      .from(templateVersions)
      .where(eq(templateVersions.templateRid, opts.templateRid))
      .get();
    const version = (latest?.version ?? 0) + 1;
    deps.db.insert(templateVersions).values({ templateRid: opts.templateRid, version, ...checked, publishedAt: deps.now() }).run();
    return { templateRid: opts.templateRid, version };
  });
}

function resourceKind(deps: Deps, rid: string): ResourceKind | undefined {
  if (isRid('notepad', rid)) {
    return deps.db.select({ rid: documents.rid }).from(documents).where(eq(documents.rid, rid)).get() ? 'document' : undefined;
  }
  if (isRid('notepad-template', rid)) {
    return deps.db.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, rid)).get() ? 'template' : undefined;
  }
  if (isFolderRid(rid)) {
    return deps.db.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, rid)).get() ? 'folder' : undefined;
  }
  return undefined;
}

export function grant(deps: Deps, opts: { userId: string; resourceRid: string; action: GrantAction }): { granted: true } {
  return deps.db.transaction(() => {
    requireUser(deps, opts.userId);
    const kind = resourceKind(deps, opts.resourceRid);
    if (!kind) throw new NotepadError('ResourceNotFound', { resourceRid: opts.resourceRid });
    const allowed: readonly GrantAction[] = ACTIONS_BY_KIND[kind];
    if (!allowed.includes(opts.action)) {
      throw new NotepadError('Default:InvalidArgument', {
        parameter: 'action',
        message: `a ${kind} takes one of: ${allowed.join(', ')}`,
      });
    }
    deps.db
      .insert(permissions)
      .values({ principalId: opts.userId, resourceRid: opts.resourceRid, action: opts.action, createdAt: deps.now() })
      .onConflictDoNothing()
      .run();
    return { granted: true as const };
  });
}

export function revokeGrant(deps: Deps, opts: { userId: string; resourceRid: string; action: GrantAction }): { revoked: boolean } {
  const result = deps.db
    .delete(permissions)
    .where(
      and(
        eq(permissions.principalId, opts.userId),
        eq(permissions.resourceRid, opts.resourceRid),
        eq(permissions.action, opts.action),
      ),
    )
    .run();
  return { revoked: result.changes > 0 };
}
