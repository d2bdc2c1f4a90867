import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failExportJob } from '../server/jobs/export-job.js';
import { failGenerationJob } from '../server/jobs/generation-job.js';
import { JobFailure } from '../server/jobs/failure.js';
import { createDeps, leasesOf, type Deps } from '../server/deps.js';
import { attemptOf, claimGenerationJob, claimNext, releaseLease, renewLease } from '../server/jobs/lease.js';
import { authenticate, type Principal } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { createTestEnv, seedDocument, seedGenerationJob, seedTemplate, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let principal: Principal;
let documentRid: string;
const LEASE_MS = 1_000;

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: LEASE_MS } } });
  const user = await seedUser(env.deps);
  principal = await authenticate(env.deps, `Bearer ${user.token}`);
  documentRid = await seedDocument(env.deps, user.userId);
});
afterEach(() => env.cleanup());

async function createAt(offsetMs: number, as: { principal: Principal; documentRid: string } = { principal, documentRid }): Promise<string> {
  env.clock.advance(offsetMs);
  const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;
  const source = { type: 'documentSource', documentRid: as.documentRid } as const;
  return (await createExportJob(env.deps, as.principal, { exportJobSource: source, exportJobTarget: target })).rid;
}

const row = async (rid: string) => (await env.rows.exportJob(rid))!;

describe('job leases (prepared claim statements)', () => {
  it('claims running export jobs oldest first, one per call, and none once all are held', async () => {
    const first = await createAt(0);
    const second = await createAt(10);
    const third = await createAt(10);
    expect((await claimNext(leasesOf(env.deps), 'export', 'a'))?.rid).toBe(first);
    expect((await claimNext(leasesOf(env.deps), 'export', 'b'))?.rid).toBe(second);
    expect((await claimNext(leasesOf(env.deps), 'export', 'a'))?.rid).toBe(third);
    expect(await claimNext(leasesOf(env.deps), 'export', 'b')).toBeUndefined();
  });

  it('records owner, lease expiry, attempts and the first start; a retry keeps the first start', async () => {
    const rid = await createAt(0);
    const firstClaimAt = env.clock.now + 5;
    env.clock.advance(5);
    const claimed = (await claimNext(leasesOf(env.deps), 'export', 'a'))!;
    expect(claimed).toMatchObject({ rid, leaseOwner: 'a', leaseExpiresAt: firstClaimAt + LEASE_MS, attempts: 1, startedAt: firstClaimAt });
    // Held: nobody else takes it while the lease lives.
    env.clock.advance(LEASE_MS - 1);
    expect(await claimNext(leasesOf(env.deps), 'export', 'b')).toBeUndefined();
    // Expired: the next runner takes it over, as a second attempt.
    env.clock.advance(2);
    const retried = (await claimNext(leasesOf(env.deps), 'export', 'b'))!;
    expect(retried).toMatchObject({ rid, leaseOwner: 'b', leaseExpiresAt: env.clock.now + LEASE_MS, attempts: 2, startedAt: firstClaimAt });
    expect(await row(rid)).toMatchObject({ leaseOwner: 'b', attempts: 2 });
  });

  it('claims nothing from an empty table', async () => {
    expect(await claimNext(leasesOf(env.deps), 'export', 'a')).toBeUndefined();
    expect(await claimNext(leasesOf(env.deps), 'generation', 'a')).toBeUndefined();
  });

  it('takes an older job whose lease expired before a newer job nobody has claimed', async () => {
    const older = await createAt(0);
    await claimNext(leasesOf(env.deps), 'export', 'died');
    const newer = await createAt(10);
    env.clock.advance(LEASE_MS);
    expect((await claimNext(leasesOf(env.deps), 'export', 'a'))?.rid).toBe(older);
    expect((await claimNext(leasesOf(env.deps), 'export', 'a'))?.rid).toBe(newer);
  });

  it('treats a lease as live up to and including its expiry instant', async () => {
    const rid = await createAt(0);
    const { leaseExpiresAt } = (await claimNext(leasesOf(env.deps), 'export', 'a'))!;
    env.clock.now = leaseExpiresAt!;
    expect(await claimNext(leasesOf(env.deps), 'export', 'b')).toBeUndefined();
    env.clock.advance(1);
    expect((await claimNext(leasesOf(env.deps), 'export', 'b'))?.rid).toBe(rid);
  });

  it('never claims a finished job', async () => {
    const rid = await createAt(0);
    await env.rows.set('exportJobs', rid, { status: 'failed' });
    expect(await claimNext(leasesOf(env.deps), 'export', 'a')).toBeUndefined();
  });

  it('renews and releases only the lease it holds', async () => {
    const rid = await createAt(0);
    await claimNext(leasesOf(env.deps), 'export', 'a');
    env.clock.advance(500);
    expect(await renewLease(leasesOf(env.deps), 'export', { rid, owner: 'b', attempt: 1 })).toBe(false);
    expect(await renewLease(leasesOf(env.deps), 'export', { rid, owner: 'a', attempt: 1 })).toBe(true);
    expect((await row(rid)).leaseExpiresAt).toBe(env.clock.now + LEASE_MS);
    await releaseLease(leasesOf(env.deps), 'export', { rid, owner: 'b', attempt: 1 });
    expect((await row(rid)).leaseOwner).toBe('a');
    await releaseLease(leasesOf(env.deps), 'export', { rid, owner: 'a', attempt: 1 });
    expect(await row(rid)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null, attempts: 0 });
    expect((await claimNext(leasesOf(env.deps), 'export', 'b'))?.rid).toBe(rid);
  });

  it('a lapsed lease is dead for its holder: no renewal, no release, no outcome, even before anyone else claims it', async () => {
    const rid = await createAt(0);
    await claimNext(leasesOf(env.deps), 'export', 'a');
    env.clock.advance(LEASE_MS); // the expiry instant itself: still live
    expect(await renewLease(leasesOf(env.deps), 'export', { rid, owner: 'a', attempt: 1 })).toBe(true);
    env.clock.advance(LEASE_MS + 1); // lapsed
    expect(await renewLease(leasesOf(env.deps), 'export', { rid, owner: 'a', attempt: 1 })).toBe(false);
    await releaseLease(leasesOf(env.deps), 'export', { rid, owner: 'a', attempt: 1 });
    expect(await row(rid)).toMatchObject({ leaseOwner: 'a', attempts: 1 });
    expect(await failExportJob(env.deps, { rid, owner: 'a', attempt: 1 }, new JobFailure('INTERNAL', 'too late'))).toBe(false);
    expect((await row(rid)).status).toBe('running');
    expect(await claimNext(leasesOf(env.deps), 'export', 'b')).toMatchObject({ rid, leaseOwner: 'b', attempts: 2 });
  });

  it('writes are an attempt\'s own: the same runner\'s earlier, lapsed attempt cannot touch its new one', async () => {
    const rid = await createAt(0);
    await claimNext(leasesOf(env.deps), 'export', 'a');
    env.clock.advance(LEASE_MS + 1);
    expect(await claimNext(leasesOf(env.deps), 'export', 'a')).toMatchObject({ rid, leaseOwner: 'a', attempts: 2 });
    const stale = { rid, owner: 'a', attempt: 1 };
    expect(await renewLease(leasesOf(env.deps), 'export', stale)).toBe(false);
    expect(await failExportJob(env.deps, stale, new JobFailure('INTERNAL', 'stale'))).toBe(false);
    expect(await releaseLease(leasesOf(env.deps), 'export', stale)).toBe(false);
    expect(await row(rid)).toMatchObject({ status: 'running', leaseOwner: 'a', attempts: 2 });
    expect(await renewLease(leasesOf(env.deps), 'export', { ...stale, attempt: 2 })).toBe(true);
  });

  it('claims generation jobs oldest first too, and a given one by rid', async () => {
    const templateRid = await seedTemplate(env.deps, principal.userId);
    const older = await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'running' });
    env.clock.advance(10);
    const newer = await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'running' });
    env.clock.advance(10);
    const newest = await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'running' });
    await seedGenerationJob(env, { creatorId: principal.userId, templateRid, status: 'succeeded' });
    expect(await claimGenerationJob(leasesOf(env.deps), newest, 'cli')).toMatchObject({ rid: newest, leaseOwner: 'cli', attempts: 1 });
    expect(await claimGenerationJob(leasesOf(env.deps), newest, 'other')).toBeUndefined();
    expect((await claimNext(leasesOf(env.deps), 'generation', 'a'))?.rid).toBe(older);
    expect((await claimNext(leasesOf(env.deps), 'generation', 'a'))?.rid).toBe(newer);
    expect(await claimNext(leasesOf(env.deps), 'generation', 'a')).toBeUndefined();
  });
});

describe('fair claims between users', () => {
  let other: { principal: Principal; documentRid: string };
  const flooder = () => ({ principal, documentRid });

  beforeEach(async () => {
    const user = await seedUser(env.deps, { name: 'Bea' });
    other = { principal: await authenticate(env.deps, `Bearer ${user.token}`), documentRid: await seedDocument(env.deps, user.userId) };
  });

  /** `count` jobs of one user, 1 ms apart. */
  async function queue(as: { principal: Principal; documentRid: string }, count: number): Promise<string[]> {
    const rids: string[] = [];
    for (let i = 0; i < count; i++) rids.push(await createAt(1, as));
    return rids;
  }
  const claim = async (owner = 'runner', deps: Deps = env.deps) => await claimNext(leasesOf(deps), 'export', owner);
  /** Ends a claimed job, as a finished render does: its lease is gone. */
  const finish = async (job: { rid: string; leaseOwner: string | null; attempts: number }) => {
    env.clock.advance(1);
    expect(await failExportJob(env.deps, attemptOf(job), new JobFailure('INTERNAL', 'done'))).toBe(true);
  };

  it("claims a user's one job right after the render in progress, however many jobs another user queued first", async () => {
    const floods = await queue(flooder(), 30);
    const [single] = await queue(other, 1);
    const first = (await claim())!;
    expect(first.rid).toBe(floods[0]); // nobody served yet, nothing rendering: the oldest job
    await finish(first); // one render slot: it frees
    expect((await claim())?.rid).toBe(single);
  });

  it('gives the next free slot to the user with fewer jobs rendering, while another holds renders', async () => {
    const floods = await queue(flooder(), 10);
    expect((await claim())?.rid).toBe(floods[0]);
    expect((await claim())?.rid).toBe(floods[1]); // only the flooder has work: it takes both slots
    const [single] = await queue(other, 1);
    expect((await claim())?.rid).toBe(single); // 2 rendering against 0
    expect((await claim())?.rid).toBe(floods[2]);
  });

  it("an express claim ('idle-users') takes only a job of a user with nothing rendering", async () => {
    const express = () => claimNext(leasesOf(env.deps), 'export', 'runner', 'idle-users');
    const floods = await queue(flooder(), 3);
    expect((await express())?.rid).toBe(floods[0]); // nothing rendering anywhere: the fair pick
    expect(await express()).toBeUndefined(); // the flooder is rendering now, and nobody else waits
    const [single] = await queue(other, 1);
    expect((await express())?.rid).toBe(single);
    expect(await express()).toBeUndefined();
    expect((await claim())?.rid).toBe(floods[1]); // a regular claim still takes anyone's
  });

  it("takes the users' jobs in turns, each user's oldest first", async () => {
    const a = await queue(flooder(), 3);
    const b = await queue(other, 3);
    const order: string[] = [];
    for (let job = await claim(); job; job = await claim()) {
      order.push(job.rid);
      await finish(job);
    }
    expect(order).toEqual([a[0], b[0], a[1], b[1], a[2], b[2]]);
  });

  it('breaks ties between users nobody has served by the oldest job', async () => {
    const [older] = await queue(other, 1);
    await queue(flooder(), 2);
    expect((await claim())?.rid).toBe(older);
  });

  it('counts only live leases as rendering: a lapsed one is claimable again, by the same statement', async () => {
    const a = await queue(flooder(), 2);
    const [single] = await queue(other, 1);
    expect((await claim('died'))?.rid).toBe(a[0]);
    env.clock.advance(LEASE_MS + 1); // the runner died: its job is not rendering any more
    // The flooder has been served and the other user not: the other user's job first, then
    // the lapsed job again (its user's oldest), as its second attempt.
    expect((await claim())?.rid).toBe(single);
    expect(await claim()).toMatchObject({ rid: a[0], attempts: 2 });
  });

  it('holds between processes sharing the database: a lease taken through one connection counts for the other', async () => {
    const second = await env.connectAgain();
    try {
      const elsewhere = createDeps({ stores: second.stores, now: () => env.clock.now, config: { jobs: { leaseMs: LEASE_MS } } });
      const floods = await queue(flooder(), 5);
      const [single] = await queue(other, 1);
      expect((await claim('process-1'))?.rid).toBe(floods[0]);
      expect((await claim('process-2', elsewhere))?.rid).toBe(single);
    } finally {
      await second.close();
    }
  });

  it('claims generation jobs fairly too: a user served a moment ago waits for the one who was not', async () => {
    const templateRid = await seedTemplate(env.deps, principal.userId);
    const seed = async (creatorId: string) => {
      env.clock.advance(1);
      return seedGenerationJob(env, { creatorId, templateRid, status: 'running' });
    };
    const floods: string[] = [];
    for (let i = 0; i < 20; i++) floods.push(await seed(principal.userId));
    const single = await seed(other.principal.userId);
    const generation = async () => await claimNext(leasesOf(env.deps), 'generation', 'runner');
    const first = (await generation())!;
    expect(first.rid).toBe(floods[0]);
    // A generation runs and ends within one synchronous step of the runner: never two at once.
    env.clock.advance(1);
    expect(await failGenerationJob(env.deps, first, 'done')).toBe(true);
    expect((await generation())?.rid).toBe(single);
    expect((await generation())?.rid).toBe(floods[1]);
  });
});
