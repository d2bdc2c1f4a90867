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
} from '../contract/api.js';
import { GenerationJobRid } from '../contract/rids.js';
import { createExportJob, getExportJob } from '../services/export-jobs.js';
import { getFile } from '../services/files.js';
import { generateFromTemplate, getGenerationJob, saveGeneratedDocument } from '../services/templates.js';
import { authedProcedure, router } from '../trpc.js';

const exporter = authedProcedure(SCOPES.export);
const writer = authedProcedure(SCOPES.write);

export const notepadRouter = router({
  exportJobs: router({
    create: exporter
      .input(CreateExportJobRequest)
      .output(ExportJob)
      .mutation(({ ctx, input }) => createExportJob(ctx.deps, ctx.principal, input)),
    get: exporter
      .input(GetExportJobRequest)
      .output(ExportJob)
      .query(({ ctx, input }) => getExportJob(ctx.deps, ctx.principal, input.exportJobRid)),
  }),
  files: router({
    /** The file's metadata; the bytes come from REST `files/{fileRid}/content`. */
    get: exporter
      .input(GetFileRequest)
      .output(FileMetadata)
      .query(({ ctx, input }) => getFile(ctx.deps, ctx.principal, input.fileRid)),
  }),
  templates: router({
    /** Returns the new GenerationJobRid as a bare string, as Foundry does. */
    generate: writer
      .input(GenerateTemplateInput)
      .output(GenerationJobRid)
      .mutation(({ ctx, input }) => generateFromTemplate(ctx.deps, ctx.principal, input)),
  }),
  generationJobs: router({
    get: writer
      .input(GetGenerationJobRequest)
      .output(GenerationJob)
      .query(({ ctx, input }) => getGenerationJob(ctx.deps, ctx.principal, input.templateRid, input.generationJobRid)),
    saveDocument: writer
      .input(SaveDocumentInput)
      .output(SaveDocumentResponse)
      .mutation(({ ctx, input }) => saveGeneratedDocument(ctx.deps, ctx.principal, input)),
  }),
});
