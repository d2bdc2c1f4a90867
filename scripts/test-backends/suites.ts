/**
 * The suites that exercise storage through the test environment's backend (test/helpers.ts
 * createTestEnv, test/process-helpers.ts backendWorkspace): `npm test` runs them a second
 * time with NOTEPAD_TEST_BACKEND=postgres, on PostgreSQL and S3. Every other suite runs once,
 * on SQLite and a directory (or, for the PostgreSQL and S3 suites, on both already).
 */
export const BOTH_BACKEND_SUITES = [
  'test/contract-rules.test.ts',
  'test/rest-reads.test.ts',
  'test/templates.test.ts',
  'test/auth-matrix.test.ts',
  'test/runner.test.ts',
  'test/lease.test.ts',
  'test/crash-recovery.test.ts',
  'test/two-processes.test.ts',
  'test/roles.test.ts',
  'test/faults.test.ts',
] as const;
