import type { Content } from '../contract/content.js';
import { ACTIONS_BY_KIND } from '../contract/grants.js';
import { newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import type { NewDocument } from '../stores/directory.js';

/**
 * Document rows, shared by every way a document comes to exist: the admin API and CLI
 * (services/admin.ts) and saving a generation job's output (services/templates.ts).
 */

/** A new document owned by `ownerId`, who gets a creator's grants on it: what a store's decide returns to write. */
export function newDocument(
  deps: Deps,
  opts: { title: string; content: Content; ownerId: string; parentFolderRid?: string | null | undefined },
): NewDocument {
  return {
    rid: newRid('notepad', deps.uuid()),
    title: opts.title,
    content: opts.content,
    ownerId: opts.ownerId,
    parentFolderRid: opts.parentFolderRid ?? null,
    createdAt: deps.now(),
    creatorGrants: ACTIONS_BY_KIND.document,
  };
}
