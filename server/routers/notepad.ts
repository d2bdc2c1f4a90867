import {
  CreateExportJobRequest,
  ExportJob,
  FileMetadata,
  GetExportJobRequest,
  GetFileRequest,
  SCOPES,
} from '../contract/api.js';
import { createExportJob, getExportJob } from '../services/export-jobs.js';
import { getFile } from '../services/files.js';
import { authedProcedure, router } from '../trpc.js';

const exporter = authedProcedure(SCOPES.export);

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
});
