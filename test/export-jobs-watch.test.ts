import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { createNotepadClient, errorDataOf, type ExportJob, type NotepadClient } from '../client/index.js';
import { exportJobs } from '../db/schema.js';
import type { Content } from '../server/contract/content.js';
import * as admin from '../server/services/admin.js';
import { createSqliteTestEnv, seedDocument, seedUser, type SqliteTestEnv } from './helpers.js';
import { startApiServer, type ApiServer } from './live-server.js';
import { openForSeeding, serverWorkspace } from './process-helpers.js';

/**
 * tRPC notepad.exportJobs.watch, an extension (docs/api.md, "Extensions"): the job as it
 * changes, until it ends, through the typed client (httpSubscriptionLink over SSE).
 */

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

interface Watched {
  values: Array<{ id: string; data: ExportJob }>;
  errors: unknown[];
  done: Promise<void>;
  unsubscribe(): void;
}

/** Subscribes through the typed client; `done` settles on complete or error. */
function watch(client: NotepadClient, input: { exportJobRid: string; lastEventId?: number }, onValue?: (value: { id: string; data: ExportJob }) => void): Watched {
  const values: Watched['values'] = [];
  const errors: unknown[] = [];
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const subscription = client.notepad.exportJobs.watch.subscribe(input, {
    onData: (value) => {
      values.push(value);
      onValue?.(value);
    },
    onError: (error) => {
      errors.push(error);
      settle();
    },
    onComplete: settle,
  });
  return { values, errors, done, unsubscribe: () => subscription.unsubscribe() };
}

describe('watch through the typed client, with the runner in another process (NOTEPAD_ROLE=runner)', () => {
  const workspace = serverWorkspace('notepad-watch-');

  it('yields queued, then rendering with pages, then succeeded, and completes', { timeout: 120_000 }, async () => {
    const seed = openForSeeding(workspace.dbPath);
    let token: string;
    let documentRid: string;
    try {
      const { userId } = await admin.createUser(seed.deps, { name: 'Watcher' });
      token = (await admin.createToken(seed.deps, { userId, scopes: ['api:notepad-export'] })).token;
      // Enough pages that the render is seen under way.
      const blocks: Content['blocks'] = Array.from({ length: 150 }, (_, i) => [
        { type: 'paragraph' as const, content: [{ type: 'text' as const, text: `Page ${i + 1}: ${'lorem ipsum '.repeat(40)}` }] },
        { type: 'pageBreak' as const },
      ]).flat();
      documentRid = (await admin.createDocument(seed.deps, { title: 'Long', content: { blocks }, ownerId: userId })).documentRid;
    } finally {
      seed.close();
    }

    const api = await workspace.start({ NOTEPAD_ROLE: 'api', NOTEPAD_EVENTS_POLL_MS: '50' });
    const client = createNotepadClient({ url: api.baseUrl, token });
    const job = await client.notepad.exportJobs.create.mutate({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
    const watched = watch(client, { exportJobRid: job.rid });
    // Nothing renders yet: the first value is the job queued.
    await expect.poll(() => watched.values.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(watched.values[0]!.data).toEqual({ rid: job.rid, status: { type: 'running' }, progress: { stage: 'queued', pagesRendered: 0 } });

    const runner = await workspace.start({ NOTEPAD_ROLE: 'runner', NOTEPAD_JOB_CONCURRENCY: '1', NOTEPAD_PROGRESS_INTERVAL_MS: '50' });
    await watched.done;
    expect(watched.errors).toEqual([]);

    const stages = watched.values.map(({ data }) => data.progress?.stage ?? data.status.type);
    expect(stages[0]).toBe('queued');
    expect(stages.at(-1)).toBe('succeeded');
    expect(stages).toContain('rendering');
    expect(watched.values.at(-1)!.data).toEqual({ rid: job.rid, status: { type: 'succeeded', fileRid: expect.any(String) } });
    // Pages only grow while rendering; ids (the row's version) only grow.
    const pages = watched.values.filter(({ data }) => data.progress?.stage === 'rendering').map(({ data }) => data.progress!.pagesRendered);
    expect(pages).toEqual([...pages].sort((a, b) => a - b));
    const ids = watched.values.map(({ id }) => Number(id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // The runner process rendered it; the api process only watched.
    expect(runner.logs.some((line) => line.msg === 'export job succeeded' && line.exportJobRid === job.rid)).toBe(true);
    expect(api.logs.some((line) => line.msg === 'export job succeeded')).toBe(false);
  });
});

describe('watch: reconnects, errors and cleanup (API in this process)', () => {
  let server: ApiServer<SqliteTestEnv>;
  let owner: { userId: string; token: string };
  let documentRid: string;

  beforeAll(async () => {
    server = await startApiServer({ config: { events: { pollMs: 20 } } }, createSqliteTestEnv);
    owner = await seedUser(server.env.deps, { name: 'Owner' });
    documentRid = await seedDocument(server.env.deps, owner.userId);
  });
  afterAll(() => server.close());

  const create = (client: NotepadClient) => client.notepad.exportJobs.create.mutate({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
  const end = (rid: string) =>
    server.env.db
      .update(exportJobs)
      .set({ status: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE', version: sql`${exportJobs.version} + 1` })
      .where(eq(exportJobs.rid, rid))
      .run();

  it('lastEventId resumes after what was seen: the terminal value is never lost, and after it the subscription completes empty', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token });
    const job = await create(client);
    const first = watch(client, { exportJobRid: job.rid });
    await expect.poll(() => first.values.length).toBe(1);
    first.unsubscribe();
    end(job.rid);

    const resumed = watch(client, { exportJobRid: job.rid, lastEventId: Number(first.values[0]!.id) });
    await resumed.done;
    expect(resumed.values.map(({ data }) => data.status)).toEqual([{ type: 'failed', errorMessage: 'too big', errorCode: 'CONTENT_TOO_LARGE' }]);

    const after = watch(client, { exportJobRid: job.rid, lastEventId: Number(resumed.values[0]!.id) });
    await after.done;
    expect(after.values).toEqual([]);
    expect(after.errors).toEqual([]);
  });

  it("answers ExportJobNotFound for another user's job, with the contract's error data", async () => {
    const job = await create(createNotepadClient({ url: server.baseUrl, token: owner.token }));
    const other = await seedUser(server.env.deps, { name: 'Other' });
    const foreign = watch(createNotepadClient({ url: server.baseUrl, token: other.token }), { exportJobRid: job.rid });
    await foreign.done;
    expect(foreign.values).toEqual([]);
    expect(errorDataOf(foreign.errors[0])).toMatchObject({ errorName: 'ExportJobNotFound', errorCode: 'NOT_FOUND', parameters: { exportJobRid: job.rid }, httpStatus: 404 });
  });

  it('unsubscribing leaves no watcher or listener behind', async () => {
    const client = createNotepadClient({ url: server.baseUrl, token: owner.token });
    const job = await create(client);
    const watchers = [watch(client, { exportJobRid: job.rid }), watch(client, { exportJobRid: job.rid })];
    await expect.poll(() => watchers.every((w) => w.values.length === 1)).toBe(true);
    expect(server.env.deps.watchers.stats()).toEqual({ jobs: 1, listeners: 2 });
    for (const w of watchers) w.unsubscribe();
    await expect.poll(() => server.env.deps.watchers.stats()).toEqual({ jobs: 0, listeners: 0 });
  });
});
