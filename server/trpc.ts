import { initTRPC } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { Logger } from 'pino';
import type { Scope } from './contract/api.js';
import { ERROR_CODES, type FoundryError } from './contract/errors.js';
import type { Deps } from './deps.js';
import { toNotepadError } from './error-mapping.js';
import { authenticate, requireScope, type Principal } from './services/auth.js';

/** The part of a pino logger the procedures use; Fastify's request logger fits too. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface Context {
  deps: Deps;
  log: Log;
  authorization: string | undefined;
  /** Memoised by `principalOf`, so the REST adapter's auth check and the procedure's share one lookup. */
  principal?: Principal;
}

export interface CreateContextInnerOptions {
  deps: Deps;
  authorization?: string | undefined;
  log?: Log;
}

/** The transport-free part of the context: what tests and the REST adapter build directly. */
export function createContextInner(opts: CreateContextInnerOptions): Context {
  return { deps: opts.deps, log: opts.log ?? opts.deps.logger, authorization: opts.authorization };
}

/** Authenticates once per context and checks the scope: 401 before 403, as the contract orders. */
export function principalOf(ctx: Context, scope: Scope): Principal {
  ctx.principal ??= authenticate(ctx.deps, ctx.authorization);
  requireScope(ctx.principal, scope);
  return ctx.principal;
}

export type ErrorData = FoundryError & { httpStatus: number };

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const notepad = toNotepadError(error);
    const data: ErrorData = { ...notepad.toJSON(), httpStatus: ERROR_CODES[notepad.errorCode].http };
    // The JSON-RPC code follows the catalog too, so envelope and data never disagree.
    return { code: TRPC_ERROR_CODES_BY_KEY[notepad.code], message: notepad.message, data };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

export const authedProcedure = (scope: Scope) =>
  t.procedure.use(({ ctx, next }) => next({ ctx: { principal: principalOf(ctx, scope) } }));
