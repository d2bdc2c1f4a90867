import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const FILE = resolve(import.meta.dirname, 'RELIABILITY.md');

/**
 * Replaces the `<!-- name:start -->…<!-- name:end -->` section of test/RELIABILITY.md.
 * Only the long runs (RELIABILITY_RECORD=1, set by `npm run reliability` / `npm run fuzz`)
 * write, so `npm test` never dirties the working tree.
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
