import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCaller } from '../server/routers/index.js';
import { authenticate } from '../server/services/auth.js';
import { seedDemoIfEmpty } from '../server/seed.js';
import { createContextInner } from '../server/trpc.js';
import { callerError, createTestEnv, type TestEnv } from './helpers.js';

let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(() => env.cleanup());

describe('the demo seed of npm start', () => {
  it('prints a token that uses the API for a day and cannot administer', async () => {
    const seed = (await seedDemoIfEmpty(env.deps))!;
    expect(seed).toBeDefined();
    const principal = await authenticate(env.deps, `Bearer ${seed.token}`);
    expect([...principal.scopes].sort()).toEqual(['api:notepad-export', 'api:notepad-write']);
    const caller = createCaller(createContextInner({ deps: env.deps, authorization: `Bearer ${seed.token}` }));
    // It exports the demo document ...
    const job = await caller.notepad.exportJobs.create({
      exportJobSource: { type: 'documentSource', documentRid: seed.documentRid },
      exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'America/New_York' },
    });
    expect(job.status.type).toBe('running');
    // ... but cannot mint tokens or users.
    expect(await callerError(caller.admin.tokens.create({ userId: seed.userId, scopes: ['notepad:admin'] }))).toMatchObject({
      errorName: 'ApiUsageDenied',
      parameters: { missingScope: 'notepad:admin' },
    });
    env.clock.advance(24 * 3_600_000 - 1);
    await expect(authenticate(env.deps, `Bearer ${seed.token}`)).resolves.toBeDefined();
    env.clock.advance(1);
    await expect(authenticate(env.deps, `Bearer ${seed.token}`)).rejects.toThrow(/InvalidCredentials/);
    expect(await seedDemoIfEmpty(env.deps)).toBeUndefined(); // only ever on an empty database
  });
});
