import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../db/index.js';
import { documents, exportJobs, files, generationJobs, permissions, templates, tokens, users } from '../../db/schema.js';
import { ownedRunning, prepareClaims } from '../jobs/lease.js';

const p = sql.placeholder;

/**
 * Prepared statements for the hot paths: requests (auth, grants, create/get) and the
 * runner's work on every export (claim, source, success commit). Preparing once per connection
 * keeps the per-call cost at binding and stepping, close to raw SQLite.
 */
export function createStatements(db: Db) {
  return {
    principalByTokenHash: db
      .select({
        userId: users.id,
        name: users.name,
        canCreateExportJobs: users.canCreateExportJobs,
        scopes: tokens.scopes,
        expiresAt: tokens.expiresAt,
        revokedAt: tokens.revokedAt,
      })
      .from(tokens)
      .innerJoin(users, eq(users.id, tokens.userId))
      .where(eq(tokens.tokenHash, p('hash')))
      .prepare(),
    grantsOn: db
      .select({ action: permissions.action })
      .from(permissions)
      .where(and(eq(permissions.principalId, p('principalId')), eq(permissions.resourceRid, p('rid'))))
      .prepare(),
    documentExists: db.select({ rid: documents.rid }).from(documents).where(eq(documents.rid, p('rid'))).prepare(),
    generationJobForExport: db
      .select({ creatorId: generationJobs.creatorId, status: generationJobs.status })
      .from(generationJobs)
      .where(
        and(
          eq(generationJobs.rid, p('rid')),
          eq(generationJobs.templateRid, p('templateRid')),
          gt(generationJobs.expiresAt, p('now')),
        ),
      )
      .prepare(),
    insertExportJob: db
      .insert(exportJobs)
      .values({
        rid: p('rid'),
        creatorId: p('creatorId'),
        sourceType: p('sourceType'),
        documentRid: p('documentRid'),
        generationJobRid: p('generationJobRid'),
        templateRid: p('templateRid'),
        userLocale: p('userLocale'),
        userTimezone: p('userTimezone'),
        status: 'running',
        createdAt: p('now'),
        expiresAt: p('expiresAt'),
      })
      .prepare(),
    exportJobOf: db
      .select({
        rid: exportJobs.rid,
        status: exportJobs.status,
        fileRid: exportJobs.fileRid,
        errorMessage: exportJobs.errorMessage,
        errorCode: exportJobs.errorCode,
        errorInstanceId: exportJobs.errorInstanceId,
      })
      .from(exportJobs)
      .where(and(eq(exportJobs.rid, p('rid')), eq(exportJobs.creatorId, p('creatorId')), gt(exportJobs.expiresAt, p('now'))))
      .prepare(),
    claims: prepareClaims(db),
    documentSource: db
      .select({ title: documents.title, content: documents.content })
      .from(documents)
      .where(eq(documents.rid, p('rid')))
      .prepare(),
    generationJobSource: db
      .select({ content: generationJobs.content, title: templates.title })
      .from(generationJobs)
      .innerJoin(templates, eq(templates.rid, generationJobs.templateRid))
      .where(eq(generationJobs.rid, p('rid')))
      .prepare(),
    /** Ends a job `succeeded`, only for its lease holder. */
    markExportJobSucceeded: db
      .update(exportJobs)
      .set({ status: 'succeeded', fileRid: sql`${p('fileRid')}`, finishedAt: sql`${p('now')}`, leaseOwner: null, leaseExpiresAt: null })
      .where(ownedRunning(exportJobs, p('rid'), p('owner'), p('now')))
      .prepare(),
    insertFile: db
      .insert(files)
      .values({
        rid: p('rid'),
        exportJobRid: p('exportJobRid'),
        ownerId: p('ownerId'),
        mediaType: p('mediaType'),
        filename: p('filename'),
        sizeBytes: p('sizeBytes'),
        sha256: p('sha256'),
        storageKey: p('storageKey'),
        createdAt: p('createdAt'),
        expiresAt: p('expiresAt'),
      })
      .prepare(),
    fileByRid: db
      .select()
      .from(files)
      .where(and(eq(files.rid, p('rid')), gt(files.expiresAt, p('now'))))
      .prepare(),
  };
}

export type Statements = ReturnType<typeof createStatements>;
