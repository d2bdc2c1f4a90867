import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWriteBatcher, type WriteBatcher } from '../server/stores/sqlite/write-batch.js';
import { createSqliteTestEnv, type SqliteTestEnv } from './helpers.js';

describe('write batcher (group commit)', () => {
  let env: SqliteTestEnv;
  let writes: WriteBatcher;
  const insertUser = (id: string) => () =>
    env.database.sqlite.prepare('insert into users (id, name, created_at) values (?, ?, 0)').run(id, id).changes;
  const userIds = () => (env.database.sqlite.prepare('select id from users order by id').all() as { id: string }[]).map((r) => r.id);

  beforeEach(async () => {
    env = await createSqliteTestEnv();
    writes = createWriteBatcher(env.database.sqlite);
  });
  afterEach(() => env.cleanup());

  it('commits the writes queued in one turn together, and only then resolves them', async () => {
    // Another connection sees only committed data.
    const other = new Database(env.database.sqlite.name, { readonly: true });
    const committed = () => (other.prepare('select count(*) as n from users').get() as { n: number }).n;
    try {
      const committedWhenRun: number[] = [];
      const results = Promise.all(
        ['a', 'b', 'c'].map((id) =>
          writes.run(() => {
            committedWhenRun.push(committed());
            return insertUser(id)();
          }),
        ),
      );
      // Nothing runs before the turn ends.
      expect(userIds()).toEqual([]);
      expect(await results).toEqual([1, 1, 1]);
      // While the batch ran, none of its writes was committed yet: one transaction for all three.
      expect(committedWhenRun).toEqual([0, 0, 0]);
      expect(committed()).toBe(3);
      // A write queued in a later turn goes into a batch of its own.
      await writes.run(insertUser('d'));
      expect(committed()).toBe(4);
    } finally {
      other.close();
    }
  });

  it('a write that fails is rolled back alone and rejects only its caller', async () => {
    const outcomes = await Promise.allSettled([
      writes.run(insertUser('a')),
      writes.run(() => {
        insertUser('b')();
        insertUser('a')(); // duplicate primary key: this unit fails after writing 'b'
      }),
      writes.run(insertUser('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(userIds()).toEqual(['a', 'c']);
  });

  it('refuses an asynchronous unit, undoing what it wrote before returning', async () => {
    const outcomes = await Promise.allSettled([
      writes.run(insertUser('a')),
      // A unit that awaits would run its rest outside the transaction: refused.
      writes.run(() => {
        insertUser('b')();
        return Promise.resolve(1);
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/synchronous/);
    expect(userIds()).toEqual(['a']);
  });

  it('a failure that ends the whole transaction rejects every caller of the batch and writes nothing', async () => {
    const outcomes = await Promise.allSettled([
      writes.run(insertUser('a')),
      // OR ROLLBACK aborts the enclosing transaction, not only this unit's savepoint.
      writes.run(() => env.database.sqlite.prepare(`insert or rollback into users (id, name, created_at) values ('a', 'a', 0)`).run()),
      writes.run(insertUser('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(userIds()).toEqual([]);
    expect(env.database.sqlite.inTransaction).toBe(false);
  });

  it('a commit that fails rejects every caller of the batch and writes nothing', async () => {
    const outcomes = await Promise.allSettled([
      writes.run(insertUser('a')),
      writes.run(() => {
        // Checked only at COMMIT: a dangling foreign key fails the whole transaction there.
        env.database.sqlite.pragma('defer_foreign_keys = ON');
        env.database.sqlite
          .prepare(`insert into tokens (id, user_id, token_hash, scopes, created_at) values ('t', 'nobody', 'h', '[]', 0)`)
          .run();
      }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(userIds()).toEqual([]);
    // The connection is usable afterwards.
    await writes.run(insertUser('z'));
    expect(userIds()).toEqual(['z']);
  });
});
