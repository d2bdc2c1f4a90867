/**
 * What failed in a vitest run, read back from its JSON report, for the launcher's closing
 * summary (launch.ts). `npm test` makes two runs; a failure in the first scrolls far out of
 * sight behind the second, and CI keeps only the end of a log, so the launcher repeats each
 * failing run's failures last.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** The parts of vitest's JSON reporter output read here. */
interface JsonReport {
  numFailedTests?: number;
  testResults?: Array<{
    name: string;
    status: string;
    message?: string;
    assertionResults?: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
}

/** Lines of a failure message kept: the error and the first frames of its stack outside node_modules. */
const MESSAGE_LINES = 8;

function excerpt(message: string, root: string): string[] {
  const lines = message
    .replaceAll(`file://${root}/`, '')
    .replaceAll(`${root}/`, '')
    .split('\n').filter((line) => !/^\s+at .*node_modules/.test(line) && !/^\s+at new Promise/.test(line));
  const kept = lines.slice(0, MESSAGE_LINES);
  if (lines.length > kept.length) kept.push('…');
  return kept.map((line) => `      ${line.trim()}`);
}

/**
 * The summary of one run that exited `code` (non-zero), from the report at `reportPath`
 * (undefined: the caller chose the reporters, so there is none): each failed test (file ›
 * name, and its message), each file that failed outside a test (an import error, a failed
 * hook), or why the report names none.
 */
export function failureSummary(label: string, code: number, reportPath: string | undefined, root: string): string {
  const lines = [`${label}: FAILED (exit code ${code})`];
  if (reportPath === undefined) {
    lines.push('  no report: the reporters were chosen by the caller; see the output above.');
    return lines.join('\n');
  }
  let report: JsonReport;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as JsonReport;
  } catch {
    lines.push('  it wrote no report: the run was killed or crashed before its end; see its output above.');
    return lines.join('\n');
  }
  let named = 0;
  for (const file of report.testResults ?? []) {
    const path = relative(root, file.name) || file.name;
    const failedTests = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failedTests) {
      named++;
      lines.push(`  ✗ ${path} › ${test.fullName}`, ...excerpt(test.failureMessages?.[0] ?? '(no message)', root));
    }
    if (file.status === 'failed' && file.message) {
      named++;
      lines.push(`  ✗ ${path} (outside any test)`, ...excerpt(file.message, root));
    } else if (file.status === 'failed' && failedTests.length === 0) {
      // A suite's beforeAll or afterAll that threw: the report keeps neither where nor what.
      named++;
      lines.push(`  ✗ ${path} (outside any test, such as a beforeAll or afterAll hook: its error is in the output above)`);
    }
  }
  if (named === 0) {
    lines.push('  no failed test in its report: an unhandled error, a worker that exited, or a type error; search its output above for "Unhandled" or "Error".');
  }
  return lines.join('\n');
}
