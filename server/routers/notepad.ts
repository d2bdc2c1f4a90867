import { tracked } from '@trpc/server';
import type { z } from 'zod';
import { ExportJob } from '../contract/api.js';
import { watchExportJob as watchJob } from '../services/export-job-watch.js';
import { operations, type Operation } from '../operations.js';
import { authedProcedure, router } from '../trpc.js';

/** A procedure with the operation's scope check and schemas; the resolver calls its `run`. */
const procedureOf = <Input extends z.ZodType, Output extends z.ZodType>(op: Operation<Input, Output>) =>
  authedProcedure(op.scope).input(op.input).output(op.output);

const { createExportJob, getExportJob, listExportJobs, cancelExportJob, watchExportJob, getFile, generateFromTemplate, getGenerationJob, saveGeneratedDocument } = operations;

export const notepadRouter = router({
  exportJobs: router({
    create: procedureOf(createExportJob).mutation(({ ctx, input }) => createExportJob.run(ctx.deps, ctx.principal, input)),
    get: procedureOf(getExportJob).query(({ ctx, input }) => getExportJob.run(ctx.deps, ctx.principal, input)),
    list: procedureOf(listExportJobs).query(({ ctx, input }) => listExportJobs.run(ctx.deps, ctx.principal, input)),
    cancel: procedureOf(cancelExportJob).mutation(({ ctx, input }) => cancelExportJob.run(ctx.deps, ctx.principal, input)),
    /**
     * An extension: the job as it changes, until it ends (tRPC's SSE transport). Each value is
     * tracked by the job's version, so a client that reconnects sends it back as `lastEventId`
     * and is told only what is newer. Its checks are exportJobs.get's, answered before streaming.
     */
    watch: authedProcedure(watchExportJob.scope)
      .input(watchExportJob.input)
      .subscription(async function* ({ ctx, input, signal }) {
        // The checks run before the first value: they answer as errors, before anything streams.
        const snapshots = await watchJob(ctx.deps, ctx.principal, input, signal);
        for await (const snapshot of snapshots) {
          // The output schema, as the other procedures' `.output`: no internal field can leak.
          yield tracked(String(snapshot.version), ExportJob.parse(snapshot.job));
        }
      }),
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
