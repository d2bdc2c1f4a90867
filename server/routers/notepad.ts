import type { z } from 'zod';
import { operations, type Operation } from '../operations.js';
import { authedProcedure, router } from '../trpc.js';

/** A procedure with the operation's scope check and schemas; the resolver calls its `run`. */
const procedureOf = <Input extends z.ZodType, Output extends z.ZodType>(op: Operation<Input, Output>) =>
  authedProcedure(op.scope).input(op.input).output(op.output);

const { createExportJob, getExportJob, listExportJobs, cancelExportJob, getFile, generateFromTemplate, getGenerationJob, saveGeneratedDocument } = operations;

export const notepadRouter = router({
  exportJobs: router({
    create: procedureOf(createExportJob).mutation(({ ctx, input }) => createExportJob.run(ctx.deps, ctx.principal, input)),
    get: procedureOf(getExportJob).query(({ ctx, input }) => getExportJob.run(ctx.deps, ctx.principal, input)),
    list: procedureOf(listExportJobs).query(({ ctx, input }) => listExportJobs.run(ctx.deps, ctx.principal, input)),
    cancel: procedureOf(cancelExportJob).mutation(({ ctx, input }) => cancelExportJob.run(ctx.deps, ctx.principal, input)),
  }),
  files: router({
    get: procedureOf(getFile).query(({ ctx, input }) => getFile.run(ctx.deps, ctx.principal, input)),
  }),
  templates: router({
    generate: procedureOf(generateFromTemplate).mutation(({ ctx, input }) => generateFromTemplate.run(ctx.deps, ctx.principal, input)),
  }),
  generationJobs: router({
    get: procedureOf(getGenerationJob).query(({ ctx, input }) => getGenerationJob.run(ctx.deps, ctx.principal, input)),
    saveDocument: procedureOf(saveGeneratedDocument).mutation(({ ctx, input }) => saveGeneratedDocument.run(ctx.deps, ctx.principal, input)),
  }),
});
