/**
 * The PostgreSQL schema: every table and index of the SQLite schema (db/schema.ts), column
 * for column, with the same TypeScript row types (test/pg-schema.test-d.ts checks them table
 * by table). Read db/schema.ts for what each column means; only what differs is said here.
 * Migrations: migrations-pg/ (npm run db:generate:pg); the user_usage triggers are PL/pgSQL
 * in a custom migration (migrations-pg/0001_user_usage_triggers.sql).
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, json, pgTable, primaryKey, text, uniqueIndex, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Content } from '../../server/contract/content.js';
import type { TemplateParameterDeclaration, TemplateParameterValue } from '../../server/contract/api.js';
import { GRANT_ACTIONS } from '../../server/contract/grants.js';

// Epoch milliseconds outgrow int4: bigint, read as a JS number (exact up to 2^53 ms).
const ms = (name: string) => bigint(name, { mode: 'number' });
// `json`, not `jsonb`: it keeps the text as written, so a value's octet_length (the storage
// quota, db/schema.ts userUsage) is the same as SQLite's JSON text, and nothing queries inside it.
const jsonOf = <T>(name: string) => json(name).$type<T>();

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  canCreateExportJobs: boolean('can_create_export_jobs').notNull().default(true),
  createdAt: ms('created_at').notNull(),
});

export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    tokenHash: text('token_hash').notNull(),
    scopes: jsonOf<string[]>('scopes').notNull(),
    expiresAt: ms('expires_at'),
    revokedAt: ms('revoked_at'),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [uniqueIndex('tokens_hash_idx').on(t.tokenHash), index('tokens_user_idx').on(t.userId)],
);

export const folders = pgTable(
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

export const documents = pgTable(
  'documents',
  {
    rid: text('rid').primaryKey(),
    title: text('title').notNull(),
    content: jsonOf<Content>('content').notNull(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    parentFolderRid: text('parent_folder_rid').references(() => folders.rid),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  // NULLs are distinct in a PostgreSQL unique index too: documents outside folders never clash.
  (t) => [uniqueIndex('documents_folder_title_idx').on(t.parentFolderRid, t.title), index('documents_owner_idx').on(t.ownerId)],
);

export const templates = pgTable('templates', {
  rid: text('rid').primaryKey(),
  title: text('title').notNull(),
  ownerId: text('owner_id')
    .notNull()
    .references(() => users.id),
  createdAt: ms('created_at').notNull(),
});

export const templateVersions = pgTable(
  'template_versions',
  {
    templateRid: text('template_rid')
      .notNull()
      .references(() => templates.rid),
    version: integer('version').notNull(),
    content: jsonOf<Content>('content').notNull(),
    parameters: jsonOf<TemplateParameterDeclaration[]>('parameters').notNull(),
    publishedAt: ms('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateRid, t.version] })],
);

export const permissions = pgTable(
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

const leaseColumns = () => ({
  leaseOwner: text('lease_owner'),
  leaseExpiresAt: ms('lease_expires_at'),
  attempts: integer('attempts').notNull().default(0),
  startedAt: ms('started_at'),
});

type ClaimColumns = {
  creatorId: AnyPgColumn;
  createdAt: AnyPgColumn;
  leaseExpiresAt: AnyPgColumn;
  startedAt: AnyPgColumn;
};

/** The fair claim's indexes (server/jobs/pg-store.ts reads them as SQLite's claim does). */
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

export const generationJobs = pgTable(
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
    parameters: jsonOf<Record<string, TemplateParameterValue>>('parameters').notNull(),
    status: jobStatus('status'),
    content: jsonOf<Content>('content'),
    errorMessage: text('error_message'),
    createdAt: ms('created_at').notNull(),
    finishedAt: ms('finished_at'),
    expiresAt: ms('expires_at').notNull(),
    ...leaseColumns(),
  },
  (t) => [
    ...claimIndexes('generation_jobs', t),
    index('generation_jobs_expiry_idx').on(t.expiresAt),
    index('generation_jobs_content_expiry_idx')
      .on(t.creatorId, t.expiresAt)
      .where(sql`content is not null`),
  ],
);

export const exportJobs = pgTable(
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
    // As db/schema.ts: the running attempt's progress, and the version every answer-changing write moves on.
    progressStage: text('progress_stage', { enum: ['rendering', 'storing'] }),
    pagesRendered: integer('pages_rendered').notNull().default(0),
    version: integer('version').notNull().default(0),
    createdAt: ms('created_at').notNull(),
    finishedAt: ms('finished_at'),
    expiresAt: ms('expires_at').notNull(),
    ...leaseColumns(),
  },
  (t) => [
    ...claimIndexes('export_jobs', t),
    index('export_jobs_expiry_idx').on(t.expiresAt),
    index('export_jobs_creator_list_idx').on(t.creatorId, t.createdAt, t.rid),
  ],
);

export const files = pgTable(
  'files',
  {
    rid: text('rid').primaryKey(),
    exportJobRid: text('export_job_rid').notNull(),
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    mediaType: text('media_type').notNull(),
    filename: text('filename').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('files_export_job_idx').on(t.exportJobRid),
    index('files_expiry_idx').on(t.expiresAt),
    index('files_owner_expiry_idx').on(t.ownerId, t.expiresAt),
  ],
);

/** Kept exact by the PL/pgSQL triggers of migrations-pg/0001_user_usage_triggers.sql. */
export const userUsage = pgTable('user_usage', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id),
  activeExportJobs: integer('active_export_jobs').notNull().default(0),
  activeGenerationJobs: integer('active_generation_jobs').notNull().default(0),
  storedBytes: bigint('stored_bytes', { mode: 'number' }).notNull().default(0),
});

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    jobRid: text('job_rid').notNull(),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [uniqueIndex('idempotency_keys_user_key_idx').on(t.userId, t.key), index('idempotency_keys_expiry_idx').on(t.expiresAt)],
);
