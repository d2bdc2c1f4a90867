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
  // Issue 12's extensions and the quotas, through every path a create or a job change takes.
  'test/export-jobs-create.test.ts',
  'test/export-jobs-list.test.ts',
  'test/export-jobs-cancel.test.ts',
  'test/export-jobs-progress.test.ts',
  'test/export-jobs-wait.test.ts',
  'test/export-jobs-events.test.ts',
  'test/idempotency.test.ts',
  'test/quotas.test.ts',
] as const;
