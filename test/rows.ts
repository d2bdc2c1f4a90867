/**
 * Rows as a test sees them, on either backend: what a suite reads to check what the services
 * wrote, and the few writes no API makes (a state to start from, a value written past a rule).
 * One implementation per backend, each Drizzle over that backend's own schema (db/schema.ts,
 * db/pg/schema.ts), whose row types are the same (test/pg-schema.test-d.ts), so a suite
 * asserts the same rows whichever backend runs it.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import * as sqlite from '../db/schema.js';
import type { PgDb } from '../db/pg/index.js';
import * as pg from '../db/pg/schema.js';

export type ExportJobRow = typeof sqlite.exportJobs.$inferSelect;
export type GenerationJobRow = typeof sqlite.generationJobs.$inferSelect;
export type FileRow = typeof sqlite.files.$inferSelect;
export type DocumentRow = typeof sqlite.documents.$inferSelect;
export type PermissionRow = typeof sqlite.permissions.$inferSelect;
export type TokenRow = typeof sqlite.tokens.$inferSelect;

/** The tables a test may change a row of, by the row's key. */
export interface Keyed {
  exportJobs: typeof sqlite.exportJobs.$inferInsert;
  generationJobs: typeof sqlite.generationJobs.$inferInsert;
  documents: typeof sqlite.documents.$inferInsert;
  tokens: typeof sqlite.tokens.$inferInsert;
}

export interface TestRows {
  exportJob(rid: string): Promise<ExportJobRow | undefined>;
  exportJobs(): Promise<ExportJobRow[]>;
  generationJob(rid: string): Promise<GenerationJobRow | undefined>;
  generationJobs(): Promise<GenerationJobRow[]>;
  files(): Promise<FileRow[]>;
  document(rid: string): Promise<DocumentRow | undefined>;
  /** Grants, narrowed by whoever holds them and on what. */
  permissions(where: { principalId?: string; resourceRid?: string }): Promise<PermissionRow[]>;
  token(id: string): Promise<TokenRow | undefined>;
  /** Sets columns of the row keyed `key` (rid, or a token's id), past every rule of the services. */
  set<T extends keyof Keyed>(table: T, key: string, values: Partial<Keyed[T]>): Promise<void>;
  delete(table: 'tokens' | 'generationJobs', key: string): Promise<void>;
  deletePermissions(where: { principalId: string }): Promise<void>;
  insertGenerationJob(row: Keyed['generationJobs']): Promise<void>;
  /** Every row of every table of the database, as text: what the database holds at rest, for a search. */
  everyRowAsText(): Promise<string>;
  /** A user's counters (active jobs, stored bytes), kept by the database's triggers; undefined if it has none. */
  userUsage(userId: string): Promise<typeof sqlite.userUsage.$inferSelect | undefined>;
  idempotencyKeys(): Promise<Array<typeof sqlite.idempotencyKeys.$inferSelect>>;
}

type Where = { principalId?: string; resourceRid?: string };

export function sqliteRows(db: Db): TestRows {
  const keyed = {
    exportJobs: [sqlite.exportJobs, sqlite.exportJobs.rid],
    generationJobs: [sqlite.generationJobs, sqlite.generationJobs.rid],
    documents: [sqlite.documents, sqlite.documents.rid],
    tokens: [sqlite.tokens, sqlite.tokens.id],
  } as const;
  const permissionsWhere = ({ principalId, resourceRid }: Where): SQL | undefined =>
    and(
      ...(principalId !== undefined ? [eq(sqlite.permissions.principalId, principalId)] : []),
      ...(resourceRid !== undefined ? [eq(sqlite.permissions.resourceRid, resourceRid)] : []),
    );
  return {
    exportJob: async (rid) => db.select().from(sqlite.exportJobs).where(eq(sqlite.exportJobs.rid, rid)).get(),
    exportJobs: async () => db.select().from(sqlite.exportJobs).all(),
    generationJob: async (rid) => db.select().from(sqlite.generationJobs).where(eq(sqlite.generationJobs.rid, rid)).get(),
    generationJobs: async () => db.select().from(sqlite.generationJobs).all(),
    files: async () => db.select().from(sqlite.files).all(),
    document: async (rid) => db.select().from(sqlite.documents).where(eq(sqlite.documents.rid, rid)).get(),
    permissions: async (where) => db.select().from(sqlite.permissions).where(permissionsWhere(where)).all(),
    token: async (id) => db.select().from(sqlite.tokens).where(eq(sqlite.tokens.id, id)).get(),
    async set(table, key, values) {
      const [t, column] = keyed[table];
      // One table of the union at a time: the values are that table's columns (Keyed[T]).
      db.update(t as typeof sqlite.exportJobs)
        .set(values as Partial<Keyed['exportJobs']>)
        .where(eq(column, key))
        .run();
    },
    async delete(table, key) {
      const [t, column] = keyed[table];
      db.delete(t).where(eq(column, key)).run();
    },
    async deletePermissions(where) {
      db.delete(sqlite.permissions).where(permissionsWhere(where)).run();
    },
    async insertGenerationJob(row) {
      db.insert(sqlite.generationJobs).values(row).run();
    },
    async everyRowAsText() {
      const tables = db.$client.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[];
      return tables.map((table) => JSON.stringify(db.$client.prepare(`select * from "${table}"`).all())).join('\n');
    },
    userUsage: async (userId) => db.select().from(sqlite.userUsage).where(eq(sqlite.userUsage.userId, userId)).get(),
    idempotencyKeys: async () => db.select().from(sqlite.idempotencyKeys).all(),
  };
}

export function pgRows(db: PgDb): TestRows {
  const keyed = {
    exportJobs: [pg.exportJobs, pg.exportJobs.rid],
    generationJobs: [pg.generationJobs, pg.generationJobs.rid],
    documents: [pg.documents, pg.documents.rid],
    tokens: [pg.tokens, pg.tokens.id],
  } as const;
  const permissionsWhere = ({ principalId, resourceRid }: Where): SQL | undefined =>
    and(
      ...(principalId !== undefined ? [eq(pg.permissions.principalId, principalId)] : []),
      ...(resourceRid !== undefined ? [eq(pg.permissions.resourceRid, resourceRid)] : []),
    );
  const first = <R>(rows: R[]): R | undefined => rows[0];
  return {
    exportJob: async (rid) => first(await db.select().from(pg.exportJobs).where(eq(pg.exportJobs.rid, rid))),
    exportJobs: async () => db.select().from(pg.exportJobs),
    generationJob: async (rid) => first(await db.select().from(pg.generationJobs).where(eq(pg.generationJobs.rid, rid))),
    generationJobs: async () => db.select().from(pg.generationJobs),
    files: async () => db.select().from(pg.files),
    document: async (rid) => first(await db.select().from(pg.documents).where(eq(pg.documents.rid, rid))),
    permissions: async (where) => db.select().from(pg.permissions).where(permissionsWhere(where)),
    token: async (id) => first(await db.select().from(pg.tokens).where(eq(pg.tokens.id, id))),
    async set(table, key, values) {
      const [t, column] = keyed[table];
      await db
        .update(t as typeof pg.exportJobs)
        .set(values as Partial<Keyed['exportJobs']>)
        .where(eq(column, key));
    },
    async delete(table, key) {
      const [t, column] = keyed[table];
      await db.delete(t).where(eq(column, key));
    },
    async deletePermissions(where) {
      await db.delete(pg.permissions).where(permissionsWhere(where));
    },
    async insertGenerationJob(row) {
      await db.insert(pg.generationJobs).values(row);
    },
    async everyRowAsText() {
      const tables = await db.execute<{ schema: string; name: string }>(
        sql`select table_schema as schema, table_name as name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
      );
      const texts: string[] = [];
      for (const { schema, name } of tables.rows) {
        const rows = await db.execute<{ row: string }>(sql`select t::text as row from ${sql.identifier(schema)}.${sql.identifier(name)} t`);
        texts.push(...rows.rows.map((r) => r.row));
      }
      return texts.join('\n');
    },
    userUsage: async (userId) => first(await db.select().from(pg.userUsage).where(eq(pg.userUsage.userId, userId))),
    idempotencyKeys: async () => db.select().from(pg.idempotencyKeys),
  };
}
