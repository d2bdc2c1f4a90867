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
import { MAX_STORED_TEMPLATE_VERSION } from '../contract/limits.js';
import { isFolderRid, newRid } from '../contract/rids.js';
import type { Deps } from '../deps.js';
import { keyToStore, replayedJobRid, requestHashOf, type KeyedRequest, type RunOutcome } from '../idempotency.js';
import { checkCreateQuotas } from '../quotas.js';
import type { Decision } from '../stores/decide.js';
import type { GenerateFacts, GenerateWrite } from '../stores/generations.js';
import { newDocument } from './documents.js';
import { actionsOf, type Principal } from './auth.js';

/**
 * templates.generate: checks, then a `running` generation job for the runner. Returns its
 * rid. The checks run in the contract's order, then this service's quotas
 * (server/quotas.ts); they are decideGenerate, run by the store inside the transaction that
 * inserts the job (stores/decide.ts), so the quota count and the insert cannot be split by
 * another create, here or in another process. With an idempotencyKey, the key is checked
 * first and stored beside the new job (server/idempotency.ts); a replay answers the first
 * request's rid.
 */
export async function generateFromTemplate(
  deps: Deps,
  principal: Principal,
  input: GenerateTemplateInput,
  outcome: RunOutcome = {},
): Promise<string> {
  deps.storage.requireSpace();
  const keyed: KeyedRequest | undefined =
    input.idempotencyKey === undefined
      ? undefined
      : { userId: principal.userId, key: input.idempotencyKey, requestHash: requestHashOf('templates.generate', input) };
  const { rid, replayed } = await deps.stores.generations.create(
    {
      userId: principal.userId,
      templateRid: input.templateRid,
      // Past what the version column holds, no template has it: asked as a version none has (0), not as a value the database would refuse.
      templateVersion: input.templateVersion !== undefined && input.templateVersion > MAX_STORED_TEMPLATE_VERSION ? 0 : input.templateVersion,
      keyed,
      now: deps.now(),
    },
    (facts) => decideGenerate(deps, principal, input, keyed, facts),
  );
  if (replayed) {
    outcome.replayed = true;
    return rid;
  }
  deps.onJobCreated('generation');
  return rid;
}

type GenerateTemplateInput = GenerateTemplateRequest & { templateRid: string; idempotencyKey?: string | undefined };

function decideGenerate(
  deps: Deps,
  principal: Principal,
  input: GenerateTemplateInput,
  keyed: KeyedRequest | undefined,
  facts: GenerateFacts,
): Decision<{ rid: string; replayed: boolean }, GenerateWrite> {
  const earlier = keyed && replayedJobRid(facts.earlier, keyed);
  if (earlier) return { answer: { rid: earlier, replayed: true } };

  const { templateRid } = input;
  const actions = actionsOf(facts.templateGrants);
  if (!actions.has('view') || !facts.templateExists) throw new NotepadError('TemplateNotFound', { templateRid });
  if (!actions.has('generate')) throw new NotepadError('GenerateTemplatePermissionDenied', { templateRid });

  const version = facts.version;
  if (!version) {
    throw new NotepadError('InvalidGenerationJobTemplateVersion', { templateVersion: input.templateVersion ?? null });
  }

  const parameters = checkParameters(version.parameters, input.templateParameters);
  const now = deps.now();
  checkCreateQuotas(deps.config.quotas, facts, 'generation', now);

  const rid = newRid('generation-job', deps.uuid());
  const expiresAt = now + deps.config.generationJobTtlMs;
  return {
    answer: { rid, replayed: false },
    write: {
      job: { rid, templateRid, templateVersion: version.version, creatorId: principal.userId, parameters, createdAt: now, expiresAt },
      key: keyed && keyToStore(deps.config, keyed, rid, now, expiresAt),
    },
  };
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
        // A value of this parameter, not the caller's zone (InvalidTimezone names userTimezone, the export target's).
        if (!isIanaTimezone(value.timezone)) throw invalid(`timezone ${JSON.stringify(value.timezone)} is not an IANA zone of the form Area/Location, such as Europe/Paris`);
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

/** generationJobs.get: visible to its creator only, until it expires. */
export async function getGenerationJob(deps: Deps, principal: Principal, templateRid: string, generationJobRid: string): Promise<GenerationJob> {
  const job = await deps.stores.generations.live(generationJobRid, templateRid, deps.now());
  if (!job || job.creatorId !== principal.userId) throw new NotepadError('GenerationJobNotFound', { generationJobRid, templateRid });
  const status =
    job.status === 'failed'
      ? { type: 'failed' as const, errorMessage: job.errorMessage ?? 'The generation failed.' }
      : { type: job.status };
  return { rid: job.rid, status };
}

/**
 * generationJobs.saveDocument: the generated content as a new document in a folder, owned by
 * the caller. The checks read what the store read in the transaction that inserts it.
 */
export async function saveGeneratedDocument(
  deps: Deps,
  principal: Principal,
  input: { templateRid: string; generationJobRid: string; parentFolderRid: string; documentName?: string | undefined },
): Promise<{ documentRid: string }> {
  const { templateRid, generationJobRid, parentFolderRid } = input;
  let displayName = '';
  const saved = await deps.stores.generations.saveDocument(
    { userId: principal.userId, templateRid, generationJobRid, parentFolderRid, now: deps.now() },
    (facts) => {
      const job = facts.job;
      if (!job) throw new NotepadError('GenerationJobNotFound', { generationJobRid, templateRid });
      if (job.creatorId !== principal.userId) {
        throw new NotepadError('SaveDocumentGenerationJobPermissionDenied', { generationJobRid, templateRid });
      }
      if (job.status === 'running') throw new NotepadError('GenerationJobStatusRunning', { generationJobRid });
      const content = job.status === 'succeeded' ? facts.content : null;
      if (!content) throw new NotepadError('GenerationJobStatusFailed', { generationJobRid });

      if (!isFolderRid(parentFolderRid)) throw new NotepadError('InvalidFolder', { resourceRid: parentFolderRid });
      const folderActions = actionsOf(facts.folderGrants);
      if (!folderActions.has('view') || !facts.folderExists) throw new NotepadError('FolderNotFound', { folderRid: parentFolderRid });
      if (!folderActions.has('create')) throw new NotepadError('CreateDocumentPermissionDenied', { parentFolderRid });

      displayName = checkDisplayName(input.documentName ?? facts.templateTitle ?? 'Untitled');
      const document = newDocument(deps, { title: displayName, content, ownerId: principal.userId, parentFolderRid });
      return { answer: { documentRid: document.rid }, write: document };
    },
  );
  // Another document of that name is in the folder (or was saved there meanwhile).
  if (!saved.ok) throw new NotepadError('ResourceNameAlreadyExists', { parentFolderRid, displayName });
  return saved.value;
}
