import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Content } from '../server/contract/content.js';
import type { TemplateParameterDeclaration, TemplateParameterValue } from '../server/contract/api.js';
import { GRANT_ACTIONS } from '../server/contract/grants.js';

// Times are epoch milliseconds (integer); JSON columns are text with a TypeScript type.
const ms = (name: string) => integer(name);
const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The per-user capability checked first by exportJobs.create (CreateExportJobPermissionDenied). */
  canCreateExportJobs: integer('can_create_export_jobs', { mode: 'boolean' }).notNull().default(true),
  createdAt: ms('created_at').notNull(),
});

export const tokens = sqliteTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** sha256 of the bearer token: the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    scopes: json<string[]>('scopes').notNull(),
    expiresAt: ms('expires_at'),
    revokedAt: ms('revoked_at'),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [uniqueIndex('tokens_hash_idx').on(t.tokenHash), index('tokens_user_idx').on(t.userId)],
);

export const folders = sqliteTable(
  'folders',
  {
    rid: text('rid').primaryKey(),
    name: text('name').notNull(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [index('folders_owner_idx').on(t.ownerId)],
);

export const documents = sqliteTable(
  'documents',
  {
    rid: text('rid').primaryKey(),
    title: text('title').notNull(),
    content: json<Content>('content').notNull(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    parentFolderRid: text('parent_folder_rid').references(() => folders.rid),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  // Names are unique within a folder (ResourceNameAlreadyExists); NULL folders never clash.
  (t) => [uniqueIndex('documents_folder_title_idx').on(t.parentFolderRid, t.title), index('documents_owner_idx').on(t.ownerId)],
);

export const templates = sqliteTable('templates', {
  rid: text('rid').primaryKey(),
  title: text('title').notNull(),
  ownerId: text('owner_id')
    .notNull()
    .references(() => users.id),
  createdAt: ms('created_at').notNull(),
});

export const templateVersions = sqliteTable(
  'template_versions',
  {
    templateRid: text('template_rid')
      .notNull()
      .references(() => templates.rid),
    version: integer('version').notNull(),
    content: json<Content>('content').notNull(),
    parameters: json<TemplateParameterDeclaration[]>('parameters').notNull(),
    publishedAt: ms('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateRid, t.version] })],
);

export const permissions = sqliteTable(
  'permissions',
  {
    principalId: text('principal_id')
      .notNull()
      .references(() => users.id),
    resourceRid: text('resource_rid').notNull(),
    action: text('action', { enum: GRANT_ACTIONS }).notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalId, t.resourceRid, t.action] }), index('permissions_resource_idx').on(t.resourceRid)],
);

const jobStatus = (name: string) => text(name, { enum: ['running', 'succeeded', 'failed'] }).notNull();

/**
 * Lease columns shared by both job tables: a runner owns a job while lease_expires_at is
 * in the future; an expired lease means its runner died and anyone may claim it again.
 */
const leaseColumns = () => ({
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: ms('lease_expires_at'),
  attempts: integer('attempts').notNull().default(0),
  /** When the first attempt was claimed; a user's latest is when the user was last served. */
  startedAt: ms('started_at'),
});

type ClaimColumns = {
  creatorId: AnySQLiteColumn;
  createdAt: AnySQLiteColumn;
  leaseExpiresAt: AnySQLiteColumn;
  startedAt: AnySQLiteColumn;
};

/**
 * What the fair claim (server/jobs/sqlite-store.ts) reads, per user, so that no claim scans
 * the queue: partial on `status = 'running'` (a literal in every query that uses them), the
 * queue (a user's oldest claimable job, and the distinct users with work), the leases (how
 * many of a user's jobs are rendering), and the first starts (when a user was last served).
 */
const claimIndexes = (table: string, t: ClaimColumns) => [
  index(`${table}_queue_idx`)
    .on(t.creatorId, t.createdAt)
    .where(sql`status = 'running'`),
  index(`${table}_lease_idx`)
    .on(t.creatorId, t.leaseExpiresAt)
    .where(sql`status = 'running'`),
  index(`${table}_started_idx`)
    .on(t.creatorId, t.startedAt)
    .where(sql`started_at is not null`),
];

export const generationJobs = sqliteTable(
  'generation_jobs',
  {
    rid: text('rid').primaryKey(),
    templateRid: text('template_rid')
      .notNull()
      .references(() => templates.rid),
    templateVersion: integer('template_version').notNull(),
    creatorId: text('creator_id')
      .notNull()
      .references(() => users.id),
    parameters: json<Record<string, TemplateParameterValue>>('parameters').notNull(),
    status: jobStatus('status'),
    content: json<Content>('content'),
    errorMessage: text('error_message'),
    createdAt: ms('created_at').notNull(),
    finishedAt: ms('finished_at'),
    expiresAt: ms('expires_at').notNull(),
    ...leaseColumns(),
  },
  (t) => [
    ...claimIndexes('generation_jobs', t),
    index('generation_jobs_expiry_idx').on(t.expiresAt),
    // The earliest expiry of a user's generated content: when its storage frees (server/quotas.ts).
    index('generation_jobs_content_expiry_idx')
      .on(t.creatorId, t.expiresAt)
      .where(sql`content is not null`),
  ],
);

export const exportJobs = sqliteTable(
  'export_jobs',
  {
    rid: text('rid').primaryKey(),
    creatorId: text('creator_id')
      .notNull()
      .references(() => users.id),
    sourceType: text('source_type', { enum: ['documentSource', 'generationJobSource'] }).notNull(),
    documentRid: text('document_rid'),
    generationJobRid: text('generation_job_rid'),
    templateRid: text('template_rid'),
    userLocale: text('user_locale').notNull(),
    userTimezone: text('user_timezone').notNull(),
    status: jobStatus('status'),
    fileRid: text('file_rid'),
    errorMessage: text('error_message'),
    errorCode: text('error_code'),
    errorInstanceId: text('error_instance_id'),
    /**
     * Progress of the attempt holding the lease (an extension, docs/api.md): null while
     * queued; set by the claim ('rendering') and by that attempt's own throttled writes.
     */
    progressStage: text('progress_stage', { enum: ['rendering', 'storing'] }),
    pagesRendered: integer('pages_rendered').notNull().default(0),
    /**
     * Bumped by every write that changes what the job answers (claim, progress, outcome,
     * cancel, release): the `id:` of its events, so a reconnect knows what it has seen.
     */
    version: integer('version').notNull().default(0),
    createdAt: ms('created_at').notNull(),
    finishedAt: ms('finished_at'),
    expiresAt: ms('expires_at').notNull(),
    ...leaseColumns(),
  },
  (t) => [
    ...claimIndexes('export_jobs', t),
    index('export_jobs_expiry_idx').on(t.expiresAt),
    // exportJobs.list: a user's jobs newest first, a page at a time (keyset on created_at, rid).
    index('export_jobs_creator_list_idx').on(t.creatorId, t.createdAt, t.rid),
  ],
);

export const files = sqliteTable(
  'files',
  {
    rid: text('rid').primaryKey(),
    exportJobRid: text('export_job_rid').notNull(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    mediaType: text('media_type').notNull(),
    filename: text('filename').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    sha256: text('sha256').notNull(),
    /** Name of the bytes in the file store; never derived from user input. */
    storageKey: text('storage_key').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [
    // One file per export job: a second writer's insert fails, so a job never has two files.
    uniqueIndex('files_export_job_idx').on(t.exportJobRid),
    index('files_expiry_idx').on(t.expiresAt),
    // The earliest expiry of a user's files: when their storage frees (server/quotas.ts).
    index('files_owner_expiry_idx').on(t.ownerId, t.expiresAt),
  ],
);

/**
 * What each user holds, for the quotas (server/quotas.ts): export and generation jobs not
 * yet ended, and the bytes of their stored files and generated content. Kept exact by
 * triggers (migrations/0003_user_usage_triggers.sql) in the transaction of every insert,
 * status or content change and delete of a job or file, whichever process or code path
 * writes it, so a quota check reads one row instead of counting rows.
 */
export const userUsage = sqliteTable('user_usage', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id),
  activeExportJobs: integer('active_export_jobs').notNull().default(0),
  activeGenerationJobs: integer('active_generation_jobs').notNull().default(0),
  storedBytes: integer('stored_bytes').notNull().default(0),
});

/**
 * Idempotency keys of creates (exportJobs.create, templates.generate): a user's key, a hash
 * of the request it came with, and the job that request made. Written in the transaction
 * that inserts the job, so two racing requests with one key make one job; expires with the
 * key's TTL or its job, whichever is first, and the sweep deletes it (server/idempotency.ts).
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    key: text('key').notNull(),
    /** sha256 of the operation's name and its canonical input (keys sorted, the key itself left out). */
    requestHash: text('request_hash').notNull(),
    /** The job the first request made: an ExportJobRid or a GenerationJobRid. */
    jobRid: text('job_rid').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [uniqueIndex('idempotency_keys_user_key_idx').on(t.userId, t.key), index('idempotency_keys_expiry_idx').on(t.expiresAt)],
);
