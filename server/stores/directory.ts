/**
 * The operator's side: users, documents, folders, templates and grants (services/admin.ts,
 * the CLI, the seed), and the grant lookups every service makes.
 */
import type { TemplateParameterDeclaration } from '../contract/api.js';
import type { Content } from '../contract/content.js';
import type { GrantAction, ResourceKind } from '../contract/grants.js';
import type { Decide, NamedWrite } from './decide.js';

export interface UserRow {
  id: string;
  name: string;
  canCreateExportJobs: boolean;
}

/** A new resource and the grants its creator gets on it. */
interface Created {
  ownerId: string;
  createdAt: number;
  creatorGrants: readonly GrantAction[];
}

export interface NewDocument extends Created {
  rid: string;
  title: string;
  content: Content;
  parentFolderRid: string | null;
}

export interface NewFolder extends Created {
  rid: string;
  name: string;
}

export interface NewTemplateVersion {
  content: Content;
  parameters: TemplateParameterDeclaration[];
  publishedAt: number;
}

export interface NewTemplate extends Created {
  rid: string;
  title: string;
  /** Published as version 1. */
  firstVersion: NewTemplateVersion;
}

export interface NewGrant {
  userId: string;
  resourceRid: string;
  action: GrantAction;
  createdAt: number;
}

/** What an operator write checks first. */
export interface OwnerFacts {
  readonly userExists: boolean;
}
export interface DocumentFacts extends OwnerFacts {
  /** Only asked with a parentFolderRid. */
  readonly folderExists: boolean;
}
export interface PublishFacts {
  readonly templateExists: boolean;
  /** The highest published version (undefined: none). */
  readonly latestVersion: number | undefined;
}
export interface GrantFacts extends OwnerFacts {
  /** Whether the resource exists as the kind its rid names (false without a kind). */
  readonly resourceExists: boolean;
}

export interface DirectoryStore {
  createUser(user: UserRow & { createdAt: number }): Promise<void>;
  user(id: string): Promise<UserRow | undefined>;
  /** Whether any user exists. */
  hasUsers(): Promise<boolean>;
  /**
   * Creates `user` only if no user exists yet, the check and the insert as one step that
   * processes sharing the database take one at a time: whether it did. The demo seed's claim
   * on an empty database, so that processes starting together on one seed it once.
   */
  createFirstUser(user: UserRow & { createdAt: number }): Promise<boolean>;

  /** Each below: reads the facts, asks `decide`, writes what it returns (with the creator's grants), in one transaction. */
  createDocument<Answer>(request: { ownerId: string; parentFolderRid: string | undefined }, decide: Decide<DocumentFacts, Answer, NewDocument>): Promise<NamedWrite<Answer>>;
  createFolder<Answer>(ownerId: string, decide: Decide<OwnerFacts, Answer, NewFolder>): Promise<Answer>;
  createTemplate<Answer>(ownerId: string, decide: Decide<OwnerFacts, Answer, NewTemplate>): Promise<Answer>;
  publishTemplateVersion<Answer>(templateRid: string, decide: Decide<PublishFacts, Answer, NewTemplateVersion & { version: number }>): Promise<Answer>;
  /** An existing grant is left as it is. */
  grant<Answer>(request: { userId: string; resourceRid: string; kind: ResourceKind | undefined }, decide: Decide<GrantFacts, Answer, NewGrant>): Promise<Answer>;
  revokeGrant(grant: { userId: string; resourceRid: string; action: GrantAction }): Promise<boolean>;

  /** The actions granted to a principal on a resource, as stored (none implied). */
  grantsOn(principalId: string, resourceRid: string): Promise<GrantAction[]>;
}
