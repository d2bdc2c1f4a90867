import { z } from 'zod';

/** An Idempotency-Key (server/idempotency.ts has its rules): 1-255 printable ASCII characters. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'must be 1 to 255 printable ASCII characters')
  .describe('Makes the create safe to retry: a second request with this key and the same body answers the same job.');
