import { z } from 'zod';
import { SCOPES, ScopeSchema, TemplateParameterDeclaration } from '../contract/api.js';
import { GRANT_ACTIONS } from '../contract/grants.js';
import { AnyResourceRid, FolderRid, TemplateRid } from '../contract/rids.js';
import * as admin from '../services/admin.js';
import { authedProcedure, router } from '../trpc.js';

const adminProcedure = authedProcedure(SCOPES.admin);

// Bounded here; the display-name rule itself is the services' (contract/display-name.ts).
const Name = z.string().max(10_000);
const UserId = z.string().min(1).max(128);
const GrantInput = z.object({ userId: UserId, resourceRid: AnyResourceRid, action: z.enum(GRANT_ACTIONS) });
const TemplateVersion = z.object({ content: z.unknown(), parameters: z.array(TemplateParameterDeclaration).max(1000) });

/** Operator API (scope notepad:admin): the same service functions the CLI uses. */
export const adminRouter = router({
  users: router({
    create: adminProcedure
      .input(z.object({ name: Name, canCreateExportJobs: z.boolean().optional() }))
      .output(z.object({ userId: z.string() }))
      .mutation(({ ctx, input }) => admin.createUser(ctx.deps, input)),
  }),
  tokens: router({
    create: adminProcedure
      .input(z.object({ userId: UserId, scopes: z.array(ScopeSchema).min(1), expiresInMs: z.number().int().positive().optional() }))
      .output(z.object({ token: z.string(), tokenId: z.string(), expiresAt: z.number().nullable() }))
      .mutation(({ ctx, input }) => admin.createToken(ctx.deps, input)),
    revoke: adminProcedure
      .input(z.object({ token: z.string().min(1).max(512) }))
      .output(z.object({ revoked: z.boolean() }))
      .mutation(({ ctx, input }) => admin.revokeToken(ctx.deps, input)),
  }),
  documents: router({
    create: adminProcedure
      .input(z.object({ title: Name, content: z.unknown(), ownerId: UserId, parentFolderRid: FolderRid.optional() }))
      .output(z.object({ documentRid: z.string() }))
      .mutation(({ ctx, input }) => admin.createDocument(ctx.deps, input)),
  }),
  folders: router({
    create: adminProcedure
      .input(z.object({ name: Name, ownerId: UserId }))
      .output(z.object({ folderRid: z.string() }))
      .mutation(({ ctx, input }) => admin.createFolder(ctx.deps, input)),
  }),
  templates: router({
    create: adminProcedure
      .input(TemplateVersion.extend({ title: Name, ownerId: UserId }))
      .output(z.object({ templateRid: z.string(), version: z.number() }))
      .mutation(({ ctx, input }) => admin.createTemplate(ctx.deps, input)),
    publish: adminProcedure
      .input(TemplateVersion.extend({ templateRid: TemplateRid }))
      .output(z.object({ templateRid: z.string(), version: z.number() }))
      .mutation(({ ctx, input }) => admin.publishTemplateVersion(ctx.deps, input)),
  }),
  grants: router({
    create: adminProcedure
      .input(GrantInput)
      .output(z.object({ granted: z.literal(true) }))
      .mutation(({ ctx, input }) => admin.grant(ctx.deps, input)),
    revoke: adminProcedure
      .input(GrantInput)
      .output(z.object({ revoked: z.boolean() }))
      .mutation(({ ctx, input }) => admin.revokeGrant(ctx.deps, input)),
  }),
});
