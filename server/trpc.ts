import { initTRPC } from '@trpc/server';
import type { Scope } from './contract/api.js';
import { requireWellFormedText } from './contract/well-formed.js';
import type { Deps } from './deps.js';
import { toNotepadError, toTrpcError, trpcErrorShape } from './errors.js';
import type { Log } from './log.js';
import { principalOf, type Credentials, type Principal } from './services/auth.js';

export interface Context extends Credentials {
  deps: Deps;
  log: Log;
}

export interface CreateContextInnerOptions {
  deps: Deps;
  authorization?: string | undefined;
  /** Already authenticated from `authorization` (the HTTP gate did): not looked up again. */
  principal?: Principal | undefined;
  log?: Log;
}

/** The transport-free part of the context: what tests and the REST adapter build directly. */
export function createContextInner(opts: CreateContextInnerOptions): Context {
  return { deps: opts.deps, log: opts.log ?? opts.deps.logger, authorization: opts.authorization, principal: opts.principal };
}

const t = initTRPC.context<Context>().create({
  errorFormatter: ({ error }) => trpcErrorShape(toNotepadError(error)),
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Outermost, so it sees every failure of the procedure (auth, input, resolver, output):
 * callers in this process get a TRPCError with the catalog's code, not a wrapped 500.
 */
const catalogErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error);
  return result;
});

/** After the credentials, before the input schema: text that could not be stored as sent. */
const wellFormedInput = t.middleware(async ({ getRawInput, next }) => {
  requireWellFormedText(await getRawInput());
  return next();
});

export const authedProcedure = (scope: Scope) =>
  t.procedure
    .use(catalogErrors)
    .use(async ({ ctx, next }) => next({ ctx: { principal: await principalOf(ctx.deps, ctx, scope) } }))
    .use(wellFormedInput);
