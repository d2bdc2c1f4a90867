/**
 * The API's front door, run when a request's headers have arrived and before its body is
 * read: who is calling (401), and whether their token may call again yet (429). A request
 * without valid credentials never gets its body read or buffered, so an unknown token can
 * hold no memory; a valid one is authenticated once, here, and the principal kept for the
 * route (REST) or procedure (tRPC), which check the scope (403) and the rest in the
 * contract's order.
 */
import type { FastifyRequest } from 'fastify';
import { NotepadError } from '../contract/errors.js';
import type { Deps } from '../deps.js';
import { createRateLimiter } from '../limits/rate-limit.js';
import { authenticateToken, type Credentials } from '../services/auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served to anyone, though under an API prefix: the API's own description (/api/openapi.json). */
    public?: boolean;
  }
}

/** Routes under these prefixes need a bearer token, unless marked `public`; the rest (/health, /docs) do not. */
const API_PREFIXES = ['/api/', '/trpc/'];

/** Whether the route a request matched is one of the API's (REST or tRPC) and needs credentials. */
export const isApiRoute = (request: FastifyRequest): boolean => {
  const url = request.routeOptions.url;
  return url !== undefined && API_PREFIXES.some((prefix) => url.startsWith(prefix)) && request.routeOptions.config.public !== true;
};

const admitted = new WeakMap<FastifyRequest, Credentials>();

/**
 * The request's credentials, with the principal the gate authenticated (so principalOf does
 * not look the token up again), or just the header if the gate did not run.
 */
export function credentialsOf(request: FastifyRequest): Credentials {
  return admitted.get(request) ?? { authorization: request.headers.authorization };
}

export interface Gate {
  /** Authenticates the request and takes one from its token's rate limit; throws the catalog error (401, 429). */
  admit(request: FastifyRequest): Promise<void>;
}

export function createGate(deps: Deps): Gate {
  const { rateLimit } = deps.config.http;
  const limiter = rateLimit === false ? undefined : createRateLimiter({ ...rateLimit, now: deps.now });
  return {
    async admit(request) {
      const authorization = request.headers.authorization;
      const { principal, tokenHash } = await authenticateToken(deps, authorization);
      const wait = limiter?.take(tokenHash);
      if (wait !== undefined) throw new NotepadError('Default:TooManyRequests', {}, { retryAfterSeconds: wait });
      admitted.set(request, { authorization, principal });
    },
  };
}
