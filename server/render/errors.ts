export type ContentLimit = 'pages' | 'bytes' | 'memory';

const LIMIT_NAMES: Record<ContentLimit, string> = { pages: 'page limit', bytes: 'byte limit', memory: 'memory limit (MB) of a render worker' };

export const CONTENT_TOO_LARGE = 'CONTENT_TOO_LARGE';

/** The code of what a render stopped on request throws across the worker boundary (pool.ts answers it as an AbortError). */
export const RENDER_STOPPED = 'RENDER_STOPPED';

/** The rendered document would exceed a configured page or byte limit. */
export class ContentTooLargeError extends Error {
  override readonly name = 'ContentTooLargeError';
  readonly code = CONTENT_TOO_LARGE;

  constructor(
    public readonly limit: ContentLimit,
    public readonly max: number,
    options?: ErrorOptions,
  ) {
    super(`rendered document exceeds the ${LIMIT_NAMES[limit]} of ${max}`, options);
  }
}

/** What crosses the worker boundary: structured clone keeps a plain object's fields, but
 *  turns any Error subclass into a bare Error with only message and stack. */
export interface SerializedContentTooLarge {
  name: 'ContentTooLargeError';
  code: typeof CONTENT_TOO_LARGE;
  limit: ContentLimit;
  max: number;
  message: string;
}

export function serializeContentTooLarge(err: ContentTooLargeError): SerializedContentTooLarge {
  return { name: err.name, code: err.code, limit: err.limit, max: err.max, message: err.message };
}

/** True for a ContentTooLargeError, in this thread or as it arrives from a render worker. */
export function isContentTooLarge(err: unknown): err is ContentTooLargeError | SerializedContentTooLarge {
  if (err instanceof ContentTooLargeError) return true;
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === CONTENT_TOO_LARGE;
}

/**
 * Turns a worker's serialized error back into a real ContentTooLargeError; a worker that
 * ran out of its heap (`heapLimitMb`) rendered a document too large for it, which is the
 * same answer; other values pass through.
 */
export function reviveRenderError(err: unknown, heapLimitMb?: number): unknown {
  if ((err as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ContentTooLargeError('memory', heapLimitMb ?? 0, { cause: err });
  }
  if (err instanceof ContentTooLargeError || !isContentTooLarge(err)) return err;
  const limit: ContentLimit = err.limit === 'bytes' || err.limit === 'memory' ? err.limit : 'pages';
  return new ContentTooLargeError(limit, Number(err.max));
}
