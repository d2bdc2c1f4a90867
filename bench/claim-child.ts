/**
 * A claim process driven over IPC by the bench (harness.startWorker), for the
 * claim-at-scale scenario: claims export jobs from a database of queued jobs for a given
 * time, with the service's job store (subject) or with the claim statement as it was
 * before fair claims (baseline, bench/claim-baseline.ts), and reports claims per second of
 * time spent claiming.
 *
 * Like a runner with `inFlight` render slots, it keeps that many leases live: once more are
 * held, the oldest claimed job is ended (untimed), so the live leases the fair claim counts
 * stay as few as in service.
 */
import { openDatabase, type NotepadDatabase } from '../db/index.js';
import { createSqliteJobStore } from '../server/jobs/sqlite-store.js';
import { TODAYS_CLAIM_SQL } from './claim-baseline.js';

export type ClaimMessage =
  | { op: 'open'; subject: string; baseline: string }
  | { op: 'claims'; engine: 'subject' | 'baseline'; seconds: number; inFlight: number };

export interface ClaimTiming {
  claims: number;
  /** Time spent in the claim statement alone, ms. */
  ms: number;
  claimsPerSecond: number;
  /** Users with running jobs, at the end of the round. */
  users: number;
  queued: number;
}

const LEASE_MS = 30_000;
/** The service's claim answers a Promise (stores' interfaces); the baseline's statement answers at once. Both are awaited alike. */
type Claim = (now: number) => Promise<{ rid: string } | undefined> | { rid: string } | undefined;
let engines: Record<'subject' | 'baseline', { database: NotepadDatabase; claim: Claim }> | undefined;

function open(path: string, claim: (database: NotepadDatabase) => Claim) {
  const database = openDatabase(path);
  return { database, claim: claim(database) };
}

async function round(engine: 'subject' | 'baseline', seconds: number, inFlight: number): Promise<ClaimTiming> {
  if (!engines) throw new Error('not open');
  const { database, claim } = engines[engine];
  const end = database.sqlite.prepare(`UPDATE export_jobs SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, finished_at = ? WHERE rid = ?`);
  const held: string[] = [];
  let claims = 0;
  let ms = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const start = performance.now();
    const job = await claim(Date.now());
    ms += performance.now() - start;
    if (!job) break;
    claims++;
    held.push(job.rid);
    if (held.length > inFlight) end.run(Date.now(), held.shift());
  }
  for (const rid of held) end.run(Date.now(), rid);
  const { users, queued } = database.sqlite
    .prepare<[], { users: number; queued: number }>(`SELECT count(DISTINCT creator_id) AS users, count(*) AS queued FROM export_jobs WHERE status = 'running'`)
    .get()!;
  return { claims, ms, claimsPerSecond: claims / (ms / 1000), users, queued };
}

process.on('message', async (message: ClaimMessage) => {
  try {
    let value: unknown = null;
    if (message.op === 'open') {
      engines = {
        subject: open(message.subject, ({ db }) => {
          const store = createSqliteJobStore(db);
          return (now) => store.claimNext('export', { owner: 'bench-runner', now, leaseMs: LEASE_MS });
        }),
        baseline: open(message.baseline, ({ sqlite }) => {
          const statement = sqlite.prepare<unknown[], { rid: string }>(TODAYS_CLAIM_SQL);
          return (now) => statement.get(now, 'bench-runner', now + LEASE_MS, now, now);
        }),
      };
    } else value = await round(message.engine, message.seconds, message.inFlight);
    process.send?.({ ok: true, value });
  } catch (error) {
    process.send?.({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
process.on('disconnect', () => {
  engines?.subject.database.close();
  engines?.baseline.database.close();
  process.exit(0);
});
