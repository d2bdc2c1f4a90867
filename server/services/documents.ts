import { documents } from '../../db/schema.js';
import type { Content } from '../contract/content.js';
import { newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { grantCreator } from './auth.js';

/**
 * Document rows, shared by every way a document comes to exist: the admin API and CLI
 * (services/admin.ts) and saving a generation job's output (services/templates.ts).
 */

/** Inserts a document owned by `ownerId`, who gets a creator's grants on it. Call inside a transaction. */
export function insertDocument(
  deps: Deps,
  opts: { title: string; content: Content; ownerId: string; parentFolderRid?: string | null | undefined },
): { documentRid: string } {
  const documentRid = newRid('notepad', deps.uuid());
  const now = deps.now();
  deps.db
    .insert(documents)
    .values({
      rid: documentRid,
      title: opts.title,
      content: opts.content,
      ownerId: opts.ownerId,
      parentFolderRid: opts.parentFolderRid ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .run();
  grantCreator(deps, 'document', opts.ownerId, documentRid, now);
  return { documentRid };
}

/** Whether SQLite refused the write for a unique index: a document title already used in its folder. */
export const isUniqueViolation = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
