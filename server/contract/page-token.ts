import { z } from 'zod';
import { ExportJobRid } from './rids.js';

/**
 * exportJobs.list's page token: where the last page ended, (created_at, rid) of its last job,
 * as base64url JSON. Opaque to clients; it names nothing they could not see (a position in
 * their own list), so it needs no signature. A token that does not decode to one is the
 * caller's error (Default:InvalidArgument naming pageToken).
 */
const Position = z.tuple([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), ExportJobRid]);
export interface PagePosition {
  createdAt: number;
  rid: string;
}

export const encodePageToken = ({ createdAt, rid }: PagePosition): string => Buffer.from(JSON.stringify([createdAt, rid]), 'utf8').toString('base64url');

export const PageToken = z
  .string()
  .max(1_000)
  .transform((token, ctx): PagePosition => {
    let decoded: unknown;
    try {
      decoded = /^[A-Za-z0-9_-]+$/.test(token) ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
    } catch {
      decoded = undefined;
    }
    const position = Position.safeParse(decoded);
    if (!position.success) {
      ctx.addIssue({ code: 'custom', message: 'not a page token of this list' });
      return z.NEVER;
    }
    return { createdAt: position.data[0], rid: position.data[1] };
  });
