import type { Logger } from 'pino';

/** The part of a pino logger the service uses; Fastify's request logger fits too. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
