/**
 * The public Notepad operations, once: scope, input and output schemas and the service
 * call. The tRPC router builds its procedures from this table and the REST adapter calls
 * the same entries, so both transports authorize, validate and answer identically without
 * REST paying for an in-process tRPC call (its middleware chain) on every request.
 */
import type { z } from 'zod';
import {
  CreateExportJobRequest,
  ExportJob,
  FileMetadata,
  GenerateTemplateInput,
  GenerationJob,
  GetExportJobRequest,
  GetFileRequest,
  GetGenerationJobRequest,
  SaveDocumentInput,
  SaveDocumentResponse,
  SCOPES,
  type Scope,
} from './contract/api.js';
import { GenerationJobRid } from './contract/rids.js';
import type { Deps } from './deps.js';
import type { Principal } from './services/auth.js';
import { createExportJob, getExportJob } from './services/export-jobs.js';
import { getFile } from './services/files.js';
import { generateFromTemplate, getGenerationJob, saveGeneratedDocument } from './services/templates.js';

export interface Operation<Input extends z.ZodType, Output extends z.ZodType> {
  scope: Scope;
  input: Input;
  /** Also what keeps internal fields out of responses: zod drops keys the schema does not name. */
  output: Output;
  run(deps: Deps, principal: Principal, input: z.output<Input>): z.input<Output> | Promise<z.input<Output>>;
}

const operation = <Input extends z.ZodType, Output extends z.ZodType>(op: Operation<Input, Output>) => op;

export const operations = {
  createExportJob: operation({
    scope: SCOPES.export,
    input: CreateExportJobRequest,
    output: ExportJob,
    run: (deps, principal, input) => createExportJob(deps, principal, input),
  }),
  getExportJob: operation({
    scope: SCOPES.export,
    input: GetExportJobRequest,
    output: ExportJob,
    run: (deps, principal, input) => getExportJob(deps, principal, input.exportJobRid),
  }),
  /** The file's metadata; the bytes come from REST `files/{fileRid}/content`. */
  getFile: operation({
    scope: SCOPES.export,
    input: GetFileRequest,
    output: FileMetadata,
    run: (deps, principal, input) => getFile(deps, principal, input.fileRid),
  }),
  /** Returns the new GenerationJobRid as a bare string, as Foundry does. */
  generateFromTemplate: operation({
    scope: SCOPES.write,
    input: GenerateTemplateInput,
    output: GenerationJobRid,
    run: (deps, principal, input) => generateFromTemplate(deps, principal, input),
  }),
  getGenerationJob: operation({
    scope: SCOPES.write,
    input: GetGenerationJobRequest,
    output: GenerationJob,
    run: (deps, principal, input) => getGenerationJob(deps, principal, input.templateRid, input.generationJobRid),
  }),
  saveGeneratedDocument: operation({
    scope: SCOPES.write,
    input: SaveDocumentInput,
    output: SaveDocumentResponse,
    run: (deps, principal, input) => saveGeneratedDocument(deps, principal, input),
  }),
};
