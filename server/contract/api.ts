import { z } from 'zod';
import { IdempotencyKey } from './idempotency-key.js';
import { PageToken } from './page-token.js';
import { MAX_PARAMETER_NAME_LENGTH, ParameterName } from './parameter-name.js';
import { DocumentRid, ExportJobRid, FileRid, GenerationJobRid, ResourceRid, TemplateRid } from './rids.js';

/**
 * The wire types of the contract (docs/api.md). Objects are not strict:
 * unknown properties are dropped, as the contract asks for forward compatibility.
 * Output schemas pick their fields explicitly so no internal column can leak.
 */

export const ExportJobSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('documentSource'), documentRid: DocumentRid }),
  z.object({ type: z.literal('generationJobSource'), generationJobRid: GenerationJobRid, templateRid: TemplateRid }),
]);
export type ExportJobSource = z.infer<typeof ExportJobSource>;

export const ExportJobTarget = z.discriminatedUnion('type', [
  // Locale and zone are checked by the service: they have contract errors of their own.
  // No length bound here either: an over-long one is the service's contract error too, in the contract's order.
  z.object({ type: z.literal('pdf'), userLocale: z.string(), userTimezone: z.string() }),
]);
export type ExportJobTarget = z.infer<typeof ExportJobTarget>;

/** Foundry's field names, as the official bindings send them. */
export const CreateExportJobRequest = z.object({ exportJobSource: ExportJobSource, exportJobTarget: ExportJobTarget });
export type CreateExportJobRequest = z.infer<typeof CreateExportJobRequest>;
/** The operation's input: the request and, this service's extension, an Idempotency-Key (REST: the header). */
export const CreateExportJobInput = CreateExportJobRequest.extend({ idempotencyKey: IdempotencyKey.optional() });
export type CreateExportJobInput = z.infer<typeof CreateExportJobInput>;

export const ExportJobStatus = z.discriminatedUnion('type', [
  z.object({ type: z.literal('running') }),
  z.object({ type: z.literal('succeeded'), fileRid: FileRid }),
  z.object({
    type: z.literal('failed'),
    errorMessage: z.string(),
    errorCode: z.string().optional(),
    errorInstanceId: z.string().optional(),
  }),
]);
export type ExportJobStatus = z.infer<typeof ExportJobStatus>;

/**
 * An extension (docs/api.md, "Extensions"): how far a running job has got. `queued` until a
 * runner claims it, then `rendering` (pages so far) and `storing`; absent once it has ended.
 */
export const EXPORT_JOB_STAGES = ['queued', 'rendering', 'storing'] as const;
export const ExportJobProgress = z.object({ stage: z.enum(EXPORT_JOB_STAGES), pagesRendered: z.number().int().min(0) });
export type ExportJobProgress = z.infer<typeof ExportJobProgress>;

export const ExportJob = z.object({ rid: ExportJobRid, status: ExportJobStatus, progress: ExportJobProgress.optional() });
export type ExportJob = z.infer<typeof ExportJob>;

export const ListExportJobsResponse = z.object({ data: z.array(ExportJob), nextPageToken: z.string().optional() });
export type ListExportJobsResponse = z.infer<typeof ListExportJobsResponse>;

export const GetExportJobRequest = z.object({ exportJobRid: ExportJobRid });

/**
 * The `id:` of a job's events (its version): whole digits; a reconnect sends the last it saw
 * (REST `Last-Event-ID`, tRPC `lastEventId`) and is told only what is newer.
 */
export const EventId = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,15}$/, 'must be an event id (digits) this service sent').transform(Number)])
  .pipe(z.number().int().min(0));
/** The event stream and tRPC's watch (extensions): the job, and the last event seen, if any. */
export const WatchExportJobRequest = GetExportJobRequest.extend({ lastEventId: EventId.optional() });
export type WatchExportJobRequest = z.infer<typeof WatchExportJobRequest>;

/** exportJobs.list (an extension, docs/api.md): the caller's unexpired jobs, newest first, a page at a time. */
export const MAX_EXPORT_JOBS_PAGE_SIZE = 1_000;
export const DEFAULT_EXPORT_JOBS_PAGE_SIZE = 100;
export const ListExportJobsRequest = z.object({
  // REST sends query strings: a string of digits is accepted too.
  pageSize: z
    .union([z.number(), z.string().regex(/^\d{1,9}$/, 'must be an integer').transform(Number)])
    .pipe(z.number().int().min(1).max(MAX_EXPORT_JOBS_PAGE_SIZE))
    .optional(),
  pageToken: PageToken.optional(),
  status: z.enum(['running', 'succeeded', 'failed']).optional(),
});
export type ListExportJobsRequest = z.infer<typeof ListExportJobsRequest>;

export const FileMetadata = z.object({
  rid: FileRid,
  exportJobRid: ExportJobRid,
  mediaType: z.string(),
  filename: z.string(),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  createdTime: z.string(),
  expiresTime: z.string(),
});
export type FileMetadata = z.infer<typeof FileMetadata>;

export const GetFileRequest = z.object({ fileRid: FileRid });

export const TemplateParameterValue = z.discriminatedUnion('type', [
  z.object({ type: z.literal('string'), value: z.string().max(100_000) }),
  z.object({ type: z.literal('double'), value: z.number() }),
  z.object({ type: z.literal('date'), value: z.string().max(64) }),
  // Milliseconds since the epoch, or (as Foundry's bindings type it) an ISO 8601 timestamp string.
  z.object({ type: z.literal('dateTime'), timestamp: z.union([z.number(), z.string().max(64)]), timezone: z.string().max(256) }),
  z.object({ type: z.literal('objectRid'), value: z.string().max(512) }),
  z.object({ type: z.literal('objectSetRid'), value: z.string().max(512) }),
]);
export type TemplateParameterValue = z.infer<typeof TemplateParameterValue>;
export type TemplateParameterType = TemplateParameterValue['type'];
export const TEMPLATE_PARAMETER_TYPES = ['string', 'double', 'date', 'dateTime', 'objectRid', 'objectSetRid'] as const;

/**
 * A JSON object of named values, like z.record, but every own key survives: z.record
 * builds its output by assignment, which turns a `__proto__` key into a prototype and
 * drops it, while a template may name a parameter `__proto__` like any other.
 */
function ownRecord<V extends z.ZodType>(key: z.ZodString, value: V) {
  // z.toJSONSchema cannot see into a custom check: say what it accepts, a record of such values.
  const { $schema: _, ...wireShape } = z.toJSONSchema(z.record(key, value), { io: 'input' });
  return z
    .custom<Record<string, z.input<V>>>((input) => typeof input === 'object' && input !== null && !Array.isArray(input), {
      message: 'expected an object',
    })
    .transform((input, ctx) => {
      const entries: Array<[string, z.output<V>]> = [];
      for (const [name, raw] of Object.entries(input)) {
        const checkedKey = key.safeParse(name);
        if (!checkedKey.success) ctx.addIssue({ code: 'custom', message: checkedKey.error.issues[0]?.message ?? 'invalid key', path: [name] });
        const checked = value.safeParse(raw);
        if (!checked.success) {
          for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [name, ...issue.path] });
        } else if (checkedKey.success) entries.push([name, checked.data]);
      }
      return Object.fromEntries(entries) as Record<string, z.output<V>>;
    })
    .meta(wireShape);
}

/**
 * An optional field of a Foundry request: absent, or null, which Foundry's wire format
 * (Conjure) reads as absent; both arrive as undefined, so the two requests are the same
 * request (an Idempotency-Key replay compares them equal).
 */
const optionalField = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

export const GenerateTemplateRequest = z.object({
  // An integer; Foundry's bindings type it as a string, so a string of digits is accepted too.
  // Any that JSON keeps exactly: one no template has is the service's InvalidGenerationJobTemplateVersion.
  templateVersion: optionalField(
    z.union([
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z.string().regex(/^\d{1,15}$/, 'must be an integer version').transform(Number),
    ]),
  ),
  // Keys are only bounded here: a name the version does not declare is the service's error.
  templateParameters: ownRecord(z.string().max(MAX_PARAMETER_NAME_LENGTH), TemplateParameterValue),
});
export type GenerateTemplateRequest = z.infer<typeof GenerateTemplateRequest>;

export const GenerateTemplateInput = GenerateTemplateRequest.extend({ templateRid: TemplateRid, idempotencyKey: IdempotencyKey.optional() });

export const GenerationJobStatus = z.discriminatedUnion('type', [
  z.object({ type: z.literal('running') }),
  z.object({ type: z.literal('succeeded') }),
  z.object({ type: z.literal('failed'), errorMessage: z.string() }),
]);
export type GenerationJobStatus = z.infer<typeof GenerationJobStatus>;

export const GenerationJob = z.object({ rid: GenerationJobRid, status: GenerationJobStatus });
export type GenerationJob = z.infer<typeof GenerationJob>;

export const GetGenerationJobRequest = z.object({ templateRid: TemplateRid, generationJobRid: GenerationJobRid });

export const SaveDocumentGenerationJobRequest = z.object({
  // Any length: one over the display-name rule's is the service's InvalidDisplayName, in the contract's order.
  documentName: optionalField(z.string()),
  // Any well-formed RID: one that is not a folder's is the service's InvalidFolder error.
  parentFolderRid: ResourceRid,
});
export const SaveDocumentInput = SaveDocumentGenerationJobRequest.extend({
  templateRid: TemplateRid,
  generationJobRid: GenerationJobRid,
});
export const SaveDocumentResponse = z.object({ documentRid: DocumentRid });
export type SaveDocumentResponse = z.infer<typeof SaveDocumentResponse>;

/** Scopes a token can carry. */
export const SCOPES = {
  export: 'api:notepad-export',
  write: 'api:notepad-write',
  admin: 'notepad:admin',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
/** A scope on the wire (the admin API's token scopes); its options are every scope there is. */
export const ScopeSchema = z.enum(SCOPES);
export const ALL_SCOPES: readonly Scope[] = ScopeSchema.options;

/** A template version declares each parameter it uses, with its type and whether it is required. */
export const TemplateParameterDeclaration = z.object({
  name: ParameterName,
  type: z.enum(TEMPLATE_PARAMETER_TYPES),
  required: z.boolean(),
});
export type TemplateParameterDeclaration = z.infer<typeof TemplateParameterDeclaration>;
