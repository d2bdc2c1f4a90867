/**
 * What a store contract suite runs against: one backend's stores on an empty, migrated
 * database, and how to throw it away. sqlite.test.ts passes SQLite's; a second backend
 * passes its own factory to the same suites.
 */
import type { Content } from '../../server/contract/content.js';
import { ACTIONS_BY_KIND } from '../../server/contract/grants.js';
import { newFolderRid, newRid } from '../../server/contract/rids.js';
import type { Stores } from '../../server/stores/index.js';

export interface StoreBackend {
  stores: Stores;
  close(): Promise<void>;
}

export type BackendFactory = () => Promise<StoreBackend>;

/** The suites' clock: a fixed instant, and times relative to it. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const HOUR = 3_600_000;

export const CONTENT: Content = { blocks: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hello' }] }] };

let counter = 0;
/** A fresh id for a row of a test (unique across a run). */
export const freshId = () => `${++counter}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * Seeding through the stores themselves (never SQL), so the suites run unchanged on any
 * backend. Each writes unconditionally: the facts are not what these tests look at.
 */
export async function addUser(stores: Stores, name = 'Ada'): Promise<string> {
  const id = `user-${freshId()}`;
  await stores.directory.createUser({ id, name, canCreateExportJobs: true, createdAt: T0 });
  return id;
}

export async function addFolder(stores: Stores, ownerId: string): Promise<string> {
  const rid = newFolderRid();
  await stores.directory.createFolder(ownerId, () => ({
    answer: rid,
    write: { rid, name: `Folder ${freshId()}`, ownerId, createdAt: T0, creatorGrants: ACTIONS_BY_KIND.folder },
  }));
  return rid;
}

export async function addDocument(stores: Stores, ownerId: string, opts: { title?: string; parentFolderRid?: string } = {}): Promise<string> {
  const rid = newRid('notepad');
  const written = await stores.directory.createDocument({ ownerId, parentFolderRid: opts.parentFolderRid }, () => ({
    answer: rid,
    write: {
      rid,
      title: opts.title ?? `Doc ${freshId()}`,
      content: CONTENT,
      ownerId,
      parentFolderRid: opts.parentFolderRid ?? null,
      createdAt: T0,
      creatorGrants: ACTIONS_BY_KIND.document,
    },
  }));
  if (!written.ok) throw new Error('name taken');
  return rid;
}

export async function addTemplate(stores: Stores, ownerId: string, title = 'Invoice'): Promise<string> {
  const rid = newRid('notepad-template');
  await stores.directory.createTemplate(ownerId, () => ({
    answer: rid,
    write: { rid, title, ownerId, createdAt: T0, creatorGrants: ACTIONS_BY_KIND.template, firstVersion: { content: CONTENT, parameters: [], publishedAt: T0 } },
  }));
  return rid;
}

/** A running generation job of `creatorId` under the template, created at `now`, expiring an hour later. */
export async function addGenerationJob(stores: Stores, creatorId: string, templateRid: string, now = T0): Promise<string> {
  const rid = newRid('generation-job');
  await stores.generations.create({ userId: creatorId, templateRid, templateVersion: undefined, now }, () => ({
    answer: rid,
    write: { job: { rid, templateRid, templateVersion: 1, creatorId, parameters: {}, createdAt: now, expiresAt: now + HOUR } },
  }));
  return rid;
}

/** Runs a generation job to its end through the runner's store: succeeded with CONTENT, or failed. */
export async function finishGenerationJob(stores: Stores, rid: string, status: 'succeeded' | 'failed', now = T0): Promise<void> {
  const job = await stores.jobs.claimGeneration(rid, { owner: 'suite', now, leaseMs: 60_000 });
  if (!job) throw new Error(`could not claim ${rid}`);
  const outcome = status === 'succeeded' ? { status, content: CONTENT } : { status, errorMessage: 'broke' };
  if (!(await stores.jobs.finishGeneration({ rid, owner: 'suite', attempt: job.attempts }, now, outcome))) throw new Error(`could not finish ${rid}`);
}

/** A running export job of a document, created at `now`, expiring a week later. */
export async function addExportJob(stores: Stores, creatorId: string, documentRid: string, now = T0): Promise<string> {
  const rid = newRid('export-job');
  await stores.exports.create({ userId: creatorId, source: { type: 'documentSource', documentRid }, now }, () => ({
    answer: rid,
    write: { job: { rid, creatorId, source: { type: 'documentSource', documentRid }, userLocale: 'en-US', userTimezone: 'Etc/UTC', createdAt: now, expiresAt: now + 7 * 24 * HOUR } },
  }));
  return rid;
}
