/**
 * The Markdown import with a time limit. micromark is super-linear on some shapes (a long
 * run of `a*`, thousands of `> a` lines): the size cap bounds memory, not time. The parse
 * runs in a child process that is killed when the limit passes, so the CLI stays a plain
 * synchronous program and a runaway parse takes nothing else with it. (A worker thread
 * cannot be waited for synchronously here: under a module loader such as tsx, its start
 * needs the parent's event loop.)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TemplateParameterDeclaration } from '../contract/api.js';
import type { Content } from '../contract/content.js';
import { workerEntry, workerExecArgv } from '../threads/worker-exec-argv.js';
import { MARKDOWN_LIMITS, MarkdownImportError } from './markdown.js';

export type MarkdownImportKind = 'document' | 'template';

export interface ImportedMarkdown {
  content: Content;
  parameters: TemplateParameterDeclaration[];
}

export type MarkdownOutcome = { ok: true; value: ImportedMarkdown } | { ok: false; importError: boolean; message: string };

export function importMarkdownWithin(kind: MarkdownImportKind, markdown: string, timeoutMs: number): ImportedMarkdown {
  const entry = fileURLToPath(workerEntry(import.meta.url, 'markdown-child'));
  const child = spawnSync(process.execPath, [...(workerExecArgv(import.meta.url) ?? process.execArgv), entry, kind], {
    input: markdown,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    // The content tree of the largest input the importer takes, with room for its JSON.
    maxBuffer: 16 * MARKDOWN_LIMITS.maxInputBytes,
    encoding: 'utf8',
  });
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new MarkdownImportError(
      `the import did not finish within ${timeoutMs} ms (some Markdown shapes are very slow to parse; split or simplify the file, or raise NOTEPAD_IMPORT_TIMEOUT_MS)`,
    );
  }
  if (child.error) throw child.error;
  let outcome: MarkdownOutcome;
  try {
    outcome = JSON.parse(child.stdout) as MarkdownOutcome;
  } catch {
    throw new Error(`the Markdown import process failed (exit ${child.status ?? child.signal}): ${child.stderr.slice(0, 500)}`);
  }
  if (outcome.ok) return outcome.value;
  throw outcome.importError ? new MarkdownImportError(outcome.message) : new Error(outcome.message);
}
