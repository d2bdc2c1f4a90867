import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const FILE = resolve(import.meta.dirname, 'RELIABILITY.md');

/**
 * Replaces the `<!-- name:start -->…<!-- name:end -->` section of test/RELIABILITY.md.
 * Only the long runs (RELIABILITY_RECORD=1, set by `npm run reliability` / `npm run fuzz`)
 * write, so `npm test` never dirties the working tree.
 *
 * The rule for every writer: call this only after the assertions behind what it prints have
 * passed, and print no figure or outcome the writing test did not assert unless the text labels
 * it "observed" (timings, distributions, and counts an assertion only bounds, which then say
 * the bound). A section must never report a check that failed, or did not run, as passed:
 * a writer that records for several tests (faults) records each test's row from that test,
 * after its assertions, and says so for a test that left none; the fuzz summary says every
 * invariant held only when every test of its file passed, and is not recorded otherwise.
 */
export async function recordReliability(name: string, lines: string[]): Promise<void> {
  if (process.env.RELIABILITY_RECORD !== '1') return;
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${lines.join('\n')}\n${end}`;
  let text = await readFile(FILE, 'utf8').catch(() => '# Reliability\n');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n## ${name}\n\n${block}\n`;
  await writeFile(FILE, text);
}
