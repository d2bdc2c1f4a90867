import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file opens its own SQLite database; files run in parallel forks.
    pool: 'forks',
    // PostgreSQL and S3 for the backend suites: from the launcher's environment, or started here.
    globalSetup: ['./test/setup/backends.ts'],
    // expect.poll waits for a condition, never measures time: its default of 1 s is a wait a
    // busy two-core machine can overrun (a new connection, a database round trip, a GC pause).
    expect: { poll: { timeout: 10_000 } },
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
});
