/**
 * Child-process entry of importMarkdownWithin: reads Markdown on stdin, writes the
 * import's outcome as one JSON object on stdout. argv[2] is the kind: document | template.
 */
import { readFileSync } from 'node:fs';
import { markdownToContent, markdownToTemplate, MarkdownImportError } from './markdown.js';
import type { MarkdownOutcome } from './markdown-deadline.js';

const kind = process.argv[2];
const markdown = readFileSync(0, 'utf8');
let outcome: MarkdownOutcome;
try {
  outcome = { ok: true, value: kind === 'template' ? markdownToTemplate(markdown) : { content: markdownToContent(markdown), parameters: [] } };
} catch (error) {
  outcome = { ok: false, importError: error instanceof MarkdownImportError, message: error instanceof Error ? error.message : String(error) };
}
process.stdout.write(JSON.stringify(outcome));
