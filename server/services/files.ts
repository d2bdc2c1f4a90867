import type { FileMetadata } from '../contract/api.js';
import { NotepadError } from '../contract/errors.js';
import type { Deps } from '../deps.js';
import type { Principal } from './auth.js';

export interface StoredFile extends FileMetadata {
  storageKey: string;
}

/** A file of one of the caller's export jobs; someone else's file is ContentFilePermissionDenied. */
export async function getFile(deps: Deps, principal: Principal, fileRid: string): Promise<StoredFile> {
  const row = await deps.stores.exports.file(fileRid, deps.now());
  if (!row) throw new NotepadError('FileNotFound', { fileRid });
  if (row.ownerId !== principal.userId) throw new NotepadError('ContentFilePermissionDenied', { fileRid });
  return {
    rid: row.rid,
    exportJobRid: row.exportJobRid,
    mediaType: row.mediaType,
    filename: row.filename,
    sizeBytes: row.sizeBytes,
    sha256: row.sha256,
    createdTime: new Date(row.createdAt).toISOString(),
    expiresTime: new Date(row.expiresAt).toISOString(),
    storageKey: row.storageKey,
  };
}
