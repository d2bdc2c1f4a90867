import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { exportJobs, generationJobs } from '../db/schema.js';
import { failExportJob } from '../server/jobs/export-job.js';
import { JobFailure } from '../server/jobs/failure.js';
import { claimJob, claimNext, releaseLease, renewLease } from '../server/jobs/lease.js';
import { authenticate, type Principal } from '../server/services/auth.js';
import { createExportJob } from '../server/services/export-jobs.js';
import { createTestEnv, seedDocument, seedGenerationJob, seedTemplate, seedUser, type TestEnv } from './helpers.js';

let env: TestEnv;
let principal: Principal;
let documentRid: string;
const LEASE_MS = 1_000;

beforeEach(async () => {
  env = await createTestEnv({ config: { jobs: { leaseMs: LEASE_MS } } });
  const user = seedUser(env.deps);
  principal = authenticate(env.deps, `Bearer ${user.token}`);
  documentRid = seedDocument(env.deps, user.userId);
});
afterEach(() => env.cleanup());

async function createAt(offsetMs: number): Promise<string> {
  env.clock.advance(offsetMs);
  const target = { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' } as const;
  return (await createExportJob(env.deps, principal, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target })).rid;
}

const row = (rid: string) => env.deps.db.select().from(exportJobs).where(eq(exportJobs.rid, rid)).get()!;

describe('job leases (prepared claim statements)', () => {
  it('claims running export jobs oldest first, one per call, and none once all are held', async () => {
    const first = await createAt(0);
    const second = await createAt(10);
    const third = await createAt(10);
    expect(claimNext(env.deps, exportJobs, 'a')?.rid).toBe(first);
    expect(claimNext(env.deps, exportJobs, 'b')?.rid).toBe(second);
    expect(claimNext(env.deps, exportJobs, 'a')?.rid).toBe(third);
    expect(claimNext(env.deps, exportJobs, 'b')).toBeUndefined();
  });

  it('records owner, lease expiry, attempts and the first start; a retry keeps the first start', async () => {
    const rid = await createAt(0);
    const firstClaimAt = env.clock.now + 5;
    env.clock.advance(5);
    const claimed = claimNext(env.deps, exportJobs, 'a')!;
    expect(claimed).toMatchObject({ rid, leaseOwner: 'a', leaseExpiresAt: firstClaimAt + LEASE_MS, attempts: 1, startedAt: firstClaimAt });
    // Held: nobody else takes it while the lease lives.
    env.clock.advance(LEASE_MS - 1);
    expect(claimNext(env.deps, exportJobs, 'b')).toBeUndefined();
    // Expired: the next runner takes it over, as a second attempt.
    env.clock.advance(2);
    const retried = claimNext(env.deps, exportJobs, 'b')!;
    expect(retried).toMatchObject({ rid, leaseOwner: 'b', leaseExpiresAt: env.clock.now + LEASE_MS, attempts: 2, startedAt: firstClaimAt });
    expect(row(rid)).toMatchObject({ leaseOwner: 'b', attempts: 2 });
  });

  it('claims nothing from an empty table', () => {
    expect(claimNext(env.deps, exportJobs, 'a')).toBeUndefined();
    expect(claimNext(env.deps, generationJobs, 'a')).toBeUndefined();
  });

  it('takes an older job whose lease expired before a newer job nobody has claimed', async () => {
    const older = await createAt(0);
    claimNext(env.deps, exportJobs, 'died');
    const newer = await createAt(10);
    env.clock.advance(LEASE_MS);
    expect(claimNext(env.deps, exportJobs, 'a')?.rid).toBe(older);
    expect(claimNext(env.deps, exportJobs, 'a')?.rid).toBe(newer);
  });

  it('treats a lease as live up to and including its expiry instant', async () => {
    const rid = await createAt(0);
    const { leaseExpiresAt } = claimNext(env.deps, exportJobs, 'a')!;
    env.clock.now = leaseExpiresAt!;
    expect(claimNext(env.deps, exportJobs, 'b')).toBeUndefined();
    env.clock.advance(1);
    expect(claimNext(env.deps, exportJobs, 'b')?.rid).toBe(rid);
  });

  it('never claims a finished job', async () => {
    const rid = await createAt(0);
    env.deps.db.update(exportJobs).set({ status: 'failed' }).where(eq(exportJobs.rid, rid)).run();
    expect(claimNext(env.deps, exportJobs, 'a')).toBeUndefined();
  });

  it('renews and releases only the lease it holds', async () => {
    const rid = await createAt(0);
    claimNext(env.deps, exportJobs, 'a');
    env.clock.advance(500);
    expect(renewLease(env.deps, exportJobs, rid, 'b')).toBe(false);
    expect(renewLease(env.deps, exportJobs, rid, 'a')).toBe(true);
    expect(row(rid).leaseExpiresAt).toBe(env.clock.now + LEASE_MS);
    releaseLease(env.deps, exportJobs, rid, 'b');
    expect(row(rid).leaseOwner).toBe('a');
    releaseLease(env.deps, exportJobs, rid, 'a');
    expect(row(rid)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null, attempts: 0 });
    expect(claimNext(env.deps, exportJobs, 'b')?.rid).toBe(rid);
  });

  it('a lapsed lease is dead for its holder: no renewal, no release, no outcome, even before anyone else claims it', async () => {
    const rid = await createAt(0);
    claimNext(env.deps, exportJobs, 'a');
    env.clock.advance(LEASE_MS); // the expiry instant itself: still live
    expect(renewLease(env.deps, exportJobs, rid, 'a')).toBe(true);
    env.clock.advance(LEASE_MS + 1); // lapsed
    expect(renewLease(env.deps, exportJobs, rid, 'a')).toBe(false);
    releaseLease(env.deps, exportJobs, rid, 'a');
    expect(row(rid)).toMatchObject({ leaseOwner: 'a', attempts: 1 });
    expect(failExportJob(env.deps, rid, 'a', new JobFailure('INTERNAL', 'too late'))).toBe(false);
    expect(row(rid).status).toBe('running');
    expect(claimNext(env.deps, exportJobs, 'b')).toMatchObject({ rid, leaseOwner: 'b', attempts: 2 });
  });

  it('claims generation jobs oldest first too, and a given one by rid', () => {
    const templateRid = seedTemplate(env.deps, principal.userId);
    const older = seedGenerationJob(env.deps, { creatorId: principal.userId, templateRid, status: 'running' });
    env.clock.advance(10);
    const newer = seedGenerationJob(env.deps, { creatorId: principal.userId, templateRid, status: 'running' });
    env.clock.advance(10);
    const newest = seedGenerationJob(env.deps, { creatorId: principal.userId, templateRid, status: 'running' });
    seedGenerationJob(env.deps, { creatorId: principal.userId, templateRid, status: 'succeeded' });
    expect(claimJob(env.deps, generationJobs, newest, 'cli')).toMatchObject({ rid: newest, leaseOwner: 'cli', attempts: 1 });
    expect(claimJob(env.deps, generationJobs, newest, 'other')).toBeUndefined();
    expect(claimNext(env.deps, generationJobs, 'a')?.rid).toBe(older);
    expect(claimNext(env.deps, generationJobs, 'a')?.rid).toBe(newer);
    expect(claimNext(env.deps, generationJobs, 'a')).toBeUndefined();
  });
});
