/**
 * Generation jobs as the API sees them (generate, get, saveDocument). The runner's side of
 * the same rows is jobs/store.ts.
 */
import type { TemplateParameterDeclaration, TemplateParameterValue } from '../contract/api.js';
import type { Content } from '../contract/content.js';
import type { GrantAction } from '../contract/grants.js';
import type { Decide, NamedWrite } from './decide.js';
import type { NewDocument } from './directory.js';
import type { KeyedRequest, NewKey, StoredKey } from './idempotency.js';
import type { UsageFacts } from './usage.js';

/** A generation job by its API identity: under that template, unexpired, whoever created it. */
export interface LiveGenerationJob {
  rid: string;
  creatorId: string;
  status: 'running' | 'succeeded' | 'failed';
  errorMessage: string | null;
}

export interface GenerateRequest {
  userId: string;
  templateRid: string;
  /** Undefined: the latest published version. */
  templateVersion: number | undefined;
  keyed?: KeyedRequest | undefined;
  now: number;
}

export interface GenerateFacts extends UsageFacts {
  /** The caller's unexpired key (only with one). */
  readonly earlier: StoredKey | undefined;
  /** The caller's granted actions on the template, as stored (none implied). */
  readonly templateGrants: readonly GrantAction[];
  readonly templateExists: boolean;
  /** The version asked for (or the latest), if published. */
  readonly version: { version: number; parameters: TemplateParameterDeclaration[] } | undefined;
}

export interface NewGenerationJob {
  rid: string;
  templateRid: string;
  templateVersion: number;
  creatorId: string;
  parameters: Record<string, TemplateParameterValue>;
  createdAt: number;
  expiresAt: number;
}

export interface GenerateWrite {
  job: NewGenerationJob;
  key?: NewKey | undefined;
}

export interface SaveDocumentRequest {
  userId: string;
  templateRid: string;
  generationJobRid: string;
  parentFolderRid: string;
  now: number;
}

export interface SaveDocumentFacts {
  readonly job: LiveGenerationJob | undefined;
  /** The job's generated content (null: none). */
  readonly content: Content | null;
  /** The caller's granted actions on the folder, as stored (none implied). */
  readonly folderGrants: readonly GrantAction[];
  readonly folderExists: boolean;
  readonly templateTitle: string | undefined;
}

export interface GenerationStore {
  /** Reads the facts, asks `decide`, writes what it returns, in one immediate transaction. */
  create<Answer>(request: GenerateRequest, decide: Decide<GenerateFacts, Answer, GenerateWrite>): Promise<Answer>;
  live(rid: string, templateRid: string, now: number): Promise<LiveGenerationJob | undefined>;
  /**
   * Reads the facts, asks `decide`, inserts the document it returns (with its creator's
   * grants) in one transaction; the name taken in the folder is reported, never thrown.
   */
  saveDocument<Answer>(request: SaveDocumentRequest, decide: Decide<SaveDocumentFacts, Answer, NewDocument>): Promise<NamedWrite<Answer>>;
}
