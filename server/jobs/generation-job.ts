import type { TemplateParameterValue } from '../contract/api.js';
import { DocumentContent, type Block, type Content, type InlineNode, type ListItem } from '../contract/content.js';
import type { Deps } from '../deps.js';
import { attemptOf } from './lease.js';
import type { GenerationJobRow, GenerationOutcome } from './store.js';

/** A parameter's value as content. Typed values stay typed so each export formats them for its own locale. */
function valueNode(value: TemplateParameterValue): InlineNode {
  switch (value.type) {
    case 'string':
      return { type: 'text', text: value.value };
    case 'double':
      return { type: 'number', value: value.value };
    case 'date':
      return { type: 'date', value: value.value };
    case 'dateTime':
      // Stored as epoch milliseconds by the generate service.
      return { type: 'dateTime', timestamp: Number(value.timestamp), timezone: value.timezone };
    case 'objectRid':
      return { type: 'objectReference', objectRid: value.value, title: value.value };
    case 'objectSetRid':
      return { type: 'objectSetReference', objectSetRid: value.value };
  }
}

export function applyParameters(content: Content, parameters: Record<string, TemplateParameterValue>): Content {
  const inlines = (nodes: InlineNode[]): InlineNode[] =>
    nodes.flatMap((node) => {
      if (node.type !== 'parameter') return [node];
      const value = Object.hasOwn(parameters, node.name) ? parameters[node.name] : undefined;
      // An optional parameter left out renders as nothing.
      return value ? [valueNode(value)] : [];
    });
  const items = (list: ListItem[]): ListItem[] => list.map((item) => ({ content: blocks(item.content) }));
  const blocks = (list: Block[]): Block[] =>
    list.map((block): Block => {
      switch (block.type) {
        case 'heading':
        case 'paragraph':
          return { ...block, content: inlines(block.content) };
        case 'quote':
          return { ...block, content: blocks(block.content) };
        case 'bulletList':
        case 'orderedList':
          return { ...block, items: items(block.items) };
        case 'table':
          return {
            ...block,
            header: block.header.map((cell) => ({ content: inlines(cell.content) })),
            rows: block.rows.map((row) => row.map((cell) => ({ content: inlines(cell.content) }))),
          };
        default:
          return block;
      }
    });
  return { blocks: blocks(content.blocks) };
}

/** Produces a claimed generation job's content and records the outcome, if the job is still ours. */
export async function runGenerationJob(deps: Deps, job: GenerationJobRow): Promise<void> {
  const template = await deps.stores.jobs.templateVersionContent(job.templateRid, job.templateVersion);
  let outcome: GenerationOutcome;
  if (!template) {
    outcome = { status: 'failed', errorMessage: `Template version ${job.templateVersion} no longer exists.` };
  } else {
    const generated = DocumentContent.safeParse(applyParameters(template, job.parameters));
    outcome = generated.success
      ? { status: 'succeeded', content: generated.data }
      : { status: 'failed', errorMessage: `The generated content is not valid: ${generated.error.issues[0]?.message ?? 'unknown'}` };
  }
  if (!(await deps.stores.jobs.finishGeneration(attemptOf(job), deps.now(), outcome))) {
    deps.logger.warn({ generationJobRid: job.rid }, 'generation job lease lost before commit; result discarded');
    return;
  }
  if (outcome.status === 'succeeded') deps.logger.info({ generationJobRid: job.rid }, 'generation job succeeded');
  else deps.logger.warn({ generationJobRid: job.rid, errorMessage: outcome.errorMessage }, 'generation job failed');
  // For metrics and the runner's summary line (job-events.ts).
  deps.jobEvents.emit({ type: outcome.status, kind: 'generation' });
}

export async function failGenerationJob(deps: Deps, job: GenerationJobRow, errorMessage: string): Promise<boolean> {
  const failed = await deps.stores.jobs.finishGeneration(attemptOf(job), deps.now(), { status: 'failed', errorMessage });
  // For metrics and the runner's summary line (job-events.ts).
  if (failed) deps.jobEvents.emit({ type: 'failed', kind: 'generation' });
  return failed;
}
