import { TRPCError } from '@trpc/server';
import { invalidArgument, NotepadError } from './contract/errors.js';

const converted = new WeakMap<object, NotepadError>();

interface IssueLike {
  path: PropertyKey[];
  message: string;
}
const hasIssues = (value: unknown): value is { issues: IssueLike[] } =>
  typeof value === 'object' && value !== null && Array.isArray((value as { issues?: unknown }).issues);

/**
 * Any thrown value as the NotepadError the client sees. Memoised per error object, so the
 * tRPC formatter, the REST handler and the log line all report the same errorInstanceId.
 */
export function toNotepadError(error: unknown): NotepadError {
  if (error instanceof NotepadError) return error;
  if (typeof error === 'object' && error !== null) {
    const seen = converted.get(error);
    if (seen) return seen;
    const result = convert(error);
    converted.set(error, result);
    return result;
  }
  return new NotepadError('Default:Internal', {}, { cause: error });
}

function convert(error: object): NotepadError {
  if (error instanceof TRPCError) {
    if (error.cause instanceof NotepadError) return error.cause;
    // Input validation: tRPC wraps the schema's issues in BAD_REQUEST. Output validation
    // wraps them too, in INTERNAL_SERVER_ERROR, and that stays a server fault below.
    if (error.code === 'BAD_REQUEST' && hasIssues(error.cause)) return invalidArgument(error.cause.issues, error);
    switch (error.code) {
      case 'BAD_REQUEST':
      case 'PARSE_ERROR':
      // tRPC's answer to a body it cannot read (text/plain, none, or PUT/DELETE with no body):
      // a bad request, not a server fault.
      case 'UNSUPPORTED_MEDIA_TYPE':
      case 'UNPROCESSABLE_CONTENT':
        return new NotepadError('Default:InvalidArgument', { message: error.message }, { cause: error });
      case 'NOT_FOUND':
      case 'METHOD_NOT_SUPPORTED':
        return new NotepadError('Default:NotFound', {}, { cause: error });
      case 'PAYLOAD_TOO_LARGE':
        return new NotepadError('Default:RequestEntityTooLarge', {}, { cause: error });
      case 'TIMEOUT':
        return new NotepadError('Default:Timeout', {}, { cause: error });
      default:
        return new NotepadError('Default:Internal', {}, { cause: error });
    }
  }
  if (hasIssues(error)) return invalidArgument(error.issues, error);
  // Fastify's own errors (body too large, bad content) carry an HTTP status.
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (statusCode === 413) return new NotepadError('Default:RequestEntityTooLarge', {}, { cause: error });
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new NotepadError('Default:InvalidArgument', { message: (error as Error).message }, { cause: error });
  }
  return new NotepadError('Default:Internal', {}, { cause: error });
}
