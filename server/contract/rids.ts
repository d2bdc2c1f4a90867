import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Resource kinds of the Notepad namespace, as they appear in a RID. */
export type NotepadRidKind = 'notepad' | 'notepad-template' | 'generation-job' | 'export-job' | 'file';

const UUID_V4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
// Folders come from Compass and their ids are not promised to be v4, only UUID-shaped.
const ANY_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const notepadRidPattern = (kind: NotepadRidKind) => new RegExp(`^ri\\.notepad\\.main\\.${kind}\\.${UUID_V4}$`);
const FOLDER_RID = new RegExp(`^ri\\.compass\\.main\\.folder\\.${ANY_UUID}$`);

export const newRid = (kind: NotepadRidKind, uuid: string = randomUUID()): string => `ri.notepad.main.${kind}.${uuid}`;
export const newFolderRid = (uuid: string = randomUUID()): string => `ri.compass.main.folder.${uuid}`;

/** The uuid a RID ends with (the inverse of newRid), e.g. to name a job's stored bytes. */
export const uuidOfRid = (rid: string): string => rid.slice(rid.lastIndexOf('.') + 1);

export const isRid = (kind: NotepadRidKind, value: string): boolean => notepadRidPattern(kind).test(value);
export const isFolderRid = (value: string): boolean => FOLDER_RID.test(value);

const ridSchema = (kind: NotepadRidKind) =>
  z.string().regex(notepadRidPattern(kind), { message: `must be a ri.notepad.main.${kind}.<uuid> resource identifier` });

export const DocumentRid = ridSchema('notepad');
export const TemplateRid = ridSchema('notepad-template');
export const GenerationJobRid = ridSchema('generation-job');
export const ExportJobRid = ridSchema('export-job');
export const FileRid = ridSchema('file');
export const FolderRid = z.string().regex(FOLDER_RID, { message: 'must be a ri.compass.main.folder.<uuid> resource identifier' });

/** Any well-formed resource identifier, of whatever service and kind (ri.<service>.<instance>.<type>.<locator>). */
export const ResourceRid = z
  .string()
  .max(256)
  .regex(/^ri\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9-]+\.[A-Za-z0-9._-]+$/, { message: 'must be a resource identifier (ri.<service>.<instance>.<type>.<locator>)' });

/** Any RID a grant can name. */
export const AnyResourceRid = z.union([DocumentRid, TemplateRid, FolderRid]);
