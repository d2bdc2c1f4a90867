import { and, desc, eq } from 'drizzle-orm';
import { documents, folders, generationJobs, templates, templateVersions } from '../../db/schema.js';
import type {
  GenerateTemplateRequest,
  GenerationJob,
  TemplateParameterDeclaration,
  TemplateParameterValue,
} from '../contract/api.js';
import { calendarDateOf } from '../contract/calendar-date.js';
import { checkDisplayName } from '../contract/display-name.js';
import { NotepadError } from '../contract/errors.js';
import { isIanaTimezone } from '../contract/locale.js';
import { isFolderRid, newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { rememberKey, replayedJobRid, requestHashOf, type KeyedRequest, type RunOutcome } from '../idempotency.js';
import { checkCreateQuotas } from '../quotas.js';
import { insertDocument, isUniqueViolation } from './documents.js';
import { grantsOn, type Principal } from './auth.js';

/**
 * templates.generate: checks, then a `running` generation job for the runner. Returns its
 * rid. The checks run in the contract's order, then this service's quotas
 * (server/quotas.ts); checks and insert are one immediate transaction, so the quota count
 * and the insert cannot be split by another create, here or in another process. With an
 * idempotencyKey, the key is looked up first in the same transaction and stored beside the
 * new job (server/idempotency.ts); a replay answers the first request's rid.
 */
export function generateFromTemplate(
  deps: Deps,
  principal: Principal,
  input: GenerateTemplateInput,
  outcome: RunOutcome = {},
): string {
  deps.storage.requireSpace();
  const keyed: KeyedRequest | undefined =
    input.idempotencyKey === undefined
      ? undefined
      : { userId: principal.userId, key: input.idempotencyKey, requestHash: requestHashOf('templates.generate', input) };
  const { rid, replayed } = deps.db.transaction(
    () => {
      const earlier = keyed && replayedJobRid(deps, keyed);
      if (earlier) return { rid: earlier, replayed: true };
      return { rid: checkAndInsertGenerationJob(deps, principal, input, keyed), replayed: false };
    },
    { behavior: 'immediate' },
  );
  if (replayed) {
    outcome.replayed = true;
    return rid;
  }
  deps.onJobCreated('generation');
  return rid;
}

type GenerateTemplateInput = GenerateTemplateRequest & { templateRid: string; idempotencyKey?: string | undefined };

function checkAndInsertGenerationJob(deps: Deps, principal: Principal, input: GenerateTemplateInput, keyed: KeyedRequest | undefined): string {
  const { templateRid } = input;
  const actions = grantsOn(deps, principal.userId, templateRid);
  const template = actions.has('view')
    ? deps.db.select({ rid: templates.rid }).from(templates).where(eq(templates.rid, templateRid)).get()
    : undefined;
  if (!template) throw new NotepadError('TemplateNotFound', { templateRid });
  if (!actions.has('generate')) throw new NotepadError('GenerateTemplatePermissionDenied', { templateRid });

  const versionQuery = deps.db
    .select({ version: templateVersions.version, parameters: templateVersions.parameters })
    .from(templateVersions);
  const version =
    input.templateVersion === undefined
      ? versionQuery.where(eq(templateVersions.templateRid, templateRid)).orderBy(desc(templateVersions.version)).limit(1).get()
      : versionQuery
          .where(and(eq(templateVersions.templateRid, templateRid), eq(templateVersions.version, input.templateVersion)))
          .get();
  if (!version) {
    throw new NotepadError('InvalidGenerationJobTemplateVersion', { templateVersion: input.templateVersion ?? null });
  }

  const parameters = checkParameters(version.parameters, input.templateParameters);
  checkCreateQuotas(deps, principal.userId, 'generation');

  const rid = newRid('generation-job', deps.uuid());
  const now = deps.now();
  const expiresAt = now + deps.config.generationJobTtlMs;
  deps.db
    .insert(generationJobs)
    .values({
      rid,
      templateRid,
      templateVersion: version.version,
      creatorId: principal.userId,
      parameters,
      status: 'running',
      createdAt: now,
      expiresAt,
    })
    .run();
  if (keyed) rememberKey(deps, keyed, rid, expiresAt);
  return rid;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of a dateTime parameter's timestamp, whichever form it came in; NaN if invalid. */
function epochMillis(timestamp: number | string): number {
  if (typeof timestamp === 'number') return Number.isSafeInteger(timestamp) && Math.abs(timestamp) <= 8.64e15 ? timestamp : NaN;
  return ISO_TIMESTAMP.test(timestamp) ? Date.parse(timestamp) : NaN;
}

/**
 * Missing required names first (all of them, sorted), then each supplied value in name
 * order. Returns the values as stored: dateTime timestamps as epoch milliseconds.
 */
function checkParameters(
  declared: TemplateParameterDeclaration[],
  supplied: Record<string, TemplateParameterValue>,
): Record<string, TemplateParameterValue> {
  // Own properties and Map entries only: a name such as `toString` or `__proto__` is an
  // ordinary parameter name, never something inherited from Object.prototype.
  const normalized = new Map<string, TemplateParameterValue>();
  const byName = new Map(declared.map((d) => [d.name, d]));
  const missing = declared.filter((d) => d.required && !Object.hasOwn(supplied, d.name)).map((d) => d.name);
  if (missing.length > 0) {
    throw new NotepadError('MissingGenerationJobTemplateParameters', { templateParameterNames: missing.sort() });
  }
  for (const name of Object.keys(supplied).sort()) {
    const value = supplied[name]!;
    const invalid = (reason: string) => new NotepadError('InvalidGenerationJobTemplateParameter', { templateParameterName: name, reason });
    const declaration = byName.get(name);
    if (!declaration) throw invalid('unknown parameter: the template version does not declare it');
    if (declaration.type !== value.type) throw invalid(`expected a value of type ${declaration.type}, got ${value.type}`);
    switch (value.type) {
      case 'double':
        if (!Number.isFinite(value.value)) throw invalid('not a finite number');
        break;
      case 'date':
        if (!calendarDateOf(value.value)) throw invalid('not a calendar date of the form YYYY-MM-DD');
        break;
      case 'dateTime': {
        const millis = epochMillis(value.timestamp);
        if (Number.isNaN(millis)) {
          throw invalid('timestamp must be whole milliseconds since the epoch or an ISO 8601 timestamp with an offset');
        }
        if (!isIanaTimezone(value.timezone)) throw new NotepadError('InvalidTimezone', { userTimezone: value.timezone });
        normalized.set(name, { ...value, timestamp: millis });
        continue;
      }
      case 'objectRid':
      case 'objectSetRid':
        if (value.value.trim() === '') throw invalid('must not be empty');
        break;
      default:
        break;
    }
    normalized.set(name, value);
  }
  // fromEntries defines own properties: `__proto__` stays a key, not a prototype.
  return Object.fromEntries(normalized);
}

/** A generation job under that template that has not expired, whoever created it. */
const liveGenerationJob = (deps: Deps, templateRid: string, generationJobRid: string) =>
  deps.stmts.liveGenerationJob.get({ rid: generationJobRid, templateRid, now: deps.now() });

/** generationJobs.get: visible to its creator only, until it expires. */
export function getGenerationJob(deps: Deps, principal: Principal, templateRid: string, generationJobRid: string): GenerationJob {
  const job = liveGenerationJob(deps, templateRid, generationJobRid);
  if (!job || job.creatorId !== principal.userId) throw new NotepadError('GenerationJobNotFound', { generationJobRid, templateRid });
  const status =
    job.status === 'failed'
      ? { type: 'failed' as const, errorMessage: job.errorMessage ?? 'The generation failed.' }
      : { type: job.status };
  return { rid: job.rid, status };
}

/** generationJobs.saveDocument: the generated content as a new document in a folder, owned by the caller. */
export function saveGeneratedDocument(
  deps: Deps,
  principal: Principal,
  input: { templateRid: string; generationJobRid: string; parentFolderRid: string; documentName?: string | undefined },
): { documentRid: string } {
  const { templateRid, generationJobRid, parentFolderRid } = input;
  const job = liveGenerationJob(deps, templateRid, generationJobRid);
  if (!job) throw new NotepadError('GenerationJobNotFound', { generationJobRid, templateRid });
  if (job.creatorId !== principal.userId) {
    throw new NotepadError('SaveDocumentGenerationJobPermissionDenied', { generationJobRid, templateRid });
  }
  if (job.status === 'running') throw new NotepadError('GenerationJobStatusRunning', { generationJobRid });
  const content = job.status === 'succeeded' ? deps.stmts.generationJobContent.get({ rid: job.rid })?.content : null;
  if (!content) throw new NotepadError('GenerationJobStatusFailed', { generationJobRid });

  if (!isFolderRid(parentFolderRid)) throw new NotepadError('InvalidFolder', { resourceRid: parentFolderRid });
  const folderActions = grantsOn(deps, principal.userId, parentFolderRid);
  const folder = folderActions.has('view')
    ? deps.db.select({ rid: folders.rid }).from(folders).where(eq(folders.rid, parentFolderRid)).get()
    : undefined;
  if (!folder) throw new NotepadError('FolderNotFound', { folderRid: parentFolderRid });
  if (!folderActions.has('create')) throw new NotepadError('CreateDocumentPermissionDenied', { parentFolderRid });

  const template = deps.db.select({ title: templates.title }).from(templates).where(eq(templates.rid, templateRid)).get();
  const displayName = checkDisplayName(input.documentName ?? template?.title ?? 'Untitled');

  const exists = () =>
    deps.db
      .select({ rid: documents.rid })
      .from(documents)
      .where(and(eq(documents.parentFolderRid, parentFolderRid), eq(documents.title, displayName)))
      .get();
  try {
    return deps.db.transaction(() => {
      if (exists()) throw new NotepadError('ResourceNameAlreadyExists', { parentFolderRid, displayName });
      return insertDocument(deps, { title: displayName, content, ownerId: principal.userId, parentFolderRid });
    });
  } catch (error) {
    // Another save of the same name committed between our check and insert.
    if (isUniqueViolation(error)) throw new NotepadError('ResourceNameAlreadyExists', { parentFolderRid, displayName });
    throw error;
  }
}
