import { describe, expectTypeOf, it } from 'vitest';
import * as sqlite from '../db/schema.js';
import * as pg from '../db/pg/schema.js';

// The two schemas are kept in step by hand; these fail to compile the moment a column's
// name, type or nullability differs between them (rows read and rows written).
describe('the PostgreSQL schema mirrors the SQLite schema', () => {
  it('row types match table by table', () => {
    expectTypeOf<typeof pg.users.$inferSelect>().toEqualTypeOf<typeof sqlite.users.$inferSelect>();
    expectTypeOf<typeof pg.tokens.$inferSelect>().toEqualTypeOf<typeof sqlite.tokens.$inferSelect>();
    expectTypeOf<typeof pg.folders.$inferSelect>().toEqualTypeOf<typeof sqlite.folders.$inferSelect>();
    expectTypeOf<typeof pg.documents.$inferSelect>().toEqualTypeOf<typeof sqlite.documents.$inferSelect>();
    expectTypeOf<typeof pg.templates.$inferSelect>().toEqualTypeOf<typeof sqlite.templates.$inferSelect>();
    expectTypeOf<typeof pg.templateVersions.$inferSelect>().toEqualTypeOf<typeof sqlite.templateVersions.$inferSelect>();
    expectTypeOf<typeof pg.permissions.$inferSelect>().toEqualTypeOf<typeof sqlite.permissions.$inferSelect>();
    expectTypeOf<typeof pg.generationJobs.$inferSelect>().toEqualTypeOf<typeof sqlite.generationJobs.$inferSelect>();
    expectTypeOf<typeof pg.exportJobs.$inferSelect>().toEqualTypeOf<typeof sqlite.exportJobs.$inferSelect>();
    expectTypeOf<typeof pg.files.$inferSelect>().toEqualTypeOf<typeof sqlite.files.$inferSelect>();
    expectTypeOf<typeof pg.userUsage.$inferSelect>().toEqualTypeOf<typeof sqlite.userUsage.$inferSelect>();
    expectTypeOf<typeof pg.idempotencyKeys.$inferSelect>().toEqualTypeOf<typeof sqlite.idempotencyKeys.$inferSelect>();
  });

  it('insert types match table by table', () => {
    expectTypeOf<typeof pg.users.$inferInsert>().toEqualTypeOf<typeof sqlite.users.$inferInsert>();
    expectTypeOf<typeof pg.tokens.$inferInsert>().toEqualTypeOf<typeof sqlite.tokens.$inferInsert>();
    expectTypeOf<typeof pg.folders.$inferInsert>().toEqualTypeOf<typeof sqlite.folders.$inferInsert>();
    expectTypeOf<typeof pg.documents.$inferInsert>().toEqualTypeOf<typeof sqlite.documents.$inferInsert>();
    expectTypeOf<typeof pg.templates.$inferInsert>().toEqualTypeOf<typeof sqlite.templates.$inferInsert>();
    expectTypeOf<typeof pg.templateVersions.$inferInsert>().toEqualTypeOf<typeof sqlite.templateVersions.$inferInsert>();
    expectTypeOf<typeof pg.permissions.$inferInsert>().toEqualTypeOf<typeof sqlite.permissions.$inferInsert>();
    expectTypeOf<typeof pg.generationJobs.$inferInsert>().toEqualTypeOf<typeof sqlite.generationJobs.$inferInsert>();
    expectTypeOf<typeof pg.exportJobs.$inferInsert>().toEqualTypeOf<typeof sqlite.exportJobs.$inferInsert>();
    expectTypeOf<typeof pg.files.$inferInsert>().toEqualTypeOf<typeof sqlite.files.$inferInsert>();
    expectTypeOf<typeof pg.userUsage.$inferInsert>().toEqualTypeOf<typeof sqlite.userUsage.$inferInsert>();
    expectTypeOf<typeof pg.idempotencyKeys.$inferInsert>().toEqualTypeOf<typeof sqlite.idempotencyKeys.$inferInsert>();
  });

  it('both schemas have the same tables', () => {
    expectTypeOf<keyof typeof pg>().toEqualTypeOf<keyof typeof sqlite>();
  });
});
