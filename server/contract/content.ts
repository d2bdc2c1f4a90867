import { z } from 'zod';
import { CONTENT_LIMITS, MAX_CONTENT_JSON_DEPTH } from './limits.js';
import { MAX_PARAMETER_NAME_LENGTH } from './parameter-name.js';

/**
 * The document content tree. Documents, template versions and generated content share
 * this one schema; `parameter` nodes are only accepted where `allowParameters` says so.
 *
 * Its limits (limits.ts) exist so that a single stored document cannot make validation or
 * rendering pathological: nesting depth is bounded, strings and arrays are capped.
 */

const text = () => z.string().max(CONTENT_LIMITS.maxTextLength);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(CONTENT_LIMITS.maxChildren);

export const Mark = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bold') }),
  z.object({ type: z.literal('italic') }),
  z.object({ type: z.literal('code') }),
  z.object({ type: z.literal('link'), href: z.string().min(1).max(2048) }),
]);
export type Mark = z.infer<typeof Mark>;

const IanaZone = z.string().min(1).max(64);

export const InlineNode = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: text(), marks: z.array(Mark).max(4).optional() }),
  /** An instant, rendered in the export's locale; in `timezone` when given, else the export's zone. */
  z.object({
    type: z.literal('dateTime'),
    timestamp: z.number().int().min(-8.64e15).max(8.64e15),
    timezone: IanaZone.optional(),
    style: z.enum(['date', 'dateTime', 'time']).optional(),
  }),
  /** A calendar date with no time zone (from a `date` template parameter). */
  z.object({ type: z.literal('date'), value: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
  z.object({
    type: z.literal('number'),
    value: z.number().refine(Number.isFinite, 'must be finite'),
    maximumFractionDigits: z.number().int().min(0).max(20).optional(),
  }),
  z.object({ type: z.literal('objectReference'), objectRid: z.string().min(1).max(512), title: text() }),
  z.object({ type: z.literal('objectSetReference'), objectSetRid: z.string().min(1).max(512), title: text().optional() }),
  // Bounded by the parameter-name rule's length. Its pattern is checked where a name is
  // declared (TemplateParameterDeclaration), not on the reference.
  z.object({ type: z.literal('parameter'), name: z.string().min(1).max(MAX_PARAMETER_NAME_LENGTH) }),
]);
export type InlineNode = z.infer<typeof InlineNode>;

const inlines = () => list(InlineNode);

export const TableCell = z.object({ content: inlines() });
export type TableCell = z.infer<typeof TableCell>;

/**
 * A table column's alignment: `null` (or a column past the array's end) is the default,
 * start-aligned text and end-aligned numbers, as a GFM column without a colon.
 */
export const ColumnAlign = z.enum(['left', 'center', 'right']).nullable();
export type ColumnAlign = z.infer<typeof ColumnAlign>;

export interface ListItem {
  content: Block[];
}

export type Block =
  | { type: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; content: InlineNode[] }
  | { type: 'paragraph'; content: InlineNode[] }
  | { type: 'bulletList'; items: ListItem[] }
  | { type: 'orderedList'; start?: number | undefined; items: ListItem[] }
  | { type: 'table'; header: TableCell[]; rows: TableCell[][]; align?: ColumnAlign[] | undefined }
  | { type: 'codeBlock'; language?: string | undefined; text: string }
  | { type: 'quote'; content: Block[] }
  | { type: 'divider' }
  | { type: 'pageBreak' };

export const ListItem: z.ZodType<ListItem> = z.object({
  get content() {
    return list(Block);
  },
});

export const Block: z.ZodType<Block> = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('heading'),
    level: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5), z.literal(6)]),
    content: inlines(),
  }),
  z.object({ type: z.literal('paragraph'), content: inlines() }),
  z.object({ type: z.literal('bulletList'), items: list(ListItem) }),
  z.object({ type: z.literal('orderedList'), start: z.number().int().min(0).max(1e9).optional(), items: list(ListItem) }),
  z.object({ type: z.literal('table'), header: list(TableCell), rows: list(list(TableCell)), align: list(ColumnAlign).optional() }),
  z.object({ type: z.literal('codeBlock'), language: z.string().max(64).optional(), text: text() }),
  z.object({
    type: z.literal('quote'),
    get content() {
      return list(Block);
    },
  }),
  z.object({ type: z.literal('divider') }),
  z.object({ type: z.literal('pageBreak') }),
]);

export interface Content {
  blocks: Block[];
}

function depthOf(blocks: Block[], depth: number): number {
  let max = depth;
  for (const block of blocks) {
    if (block.type === 'quote') max = Math.max(max, depthOf(block.content, depth + 1));
    if (block.type === 'bulletList' || block.type === 'orderedList') {
      for (const item of block.items) max = Math.max(max, depthOf(item.content, depth + 1));
    }
  }
  return max;
}

export function* inlineNodesOf(blocks: Block[]): Generator<InlineNode> {
  for (const block of blocks) {
    switch (block.type) {
      case 'heading':
      case 'paragraph':
        yield* block.content;
        break;
      case 'quote':
        yield* inlineNodesOf(block.content);
        break;
      case 'bulletList':
      case 'orderedList':
        for (const item of block.items) yield* inlineNodesOf(item.content);
        break;
      case 'table':
        for (const cell of block.header) yield* cell.content;
        for (const row of block.rows) for (const cell of row) yield* cell.content;
        break;
      default:
        break;
    }
  }
}

/**
 * Whether a JSON value nests deeper than `limit` objects/arrays, found without recursion:
 * the content schema is recursive, so a hostile tree must be refused before zod walks it.
 */
export function jsonDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

const makeContent = (allowParameters: boolean) =>
  z
    .unknown()
    .superRefine((value, ctx) => {
      if (jsonDeeperThan(value, MAX_CONTENT_JSON_DEPTH)) {
        ctx.addIssue({ code: 'custom', message: `nesting deeper than ${CONTENT_LIMITS.maxDepth} levels`, path: ['blocks'] });
      }
    })
    .pipe(z.object({ blocks: list(Block) }))
    .superRefine((content, ctx) => {
    if (depthOf(content.blocks, 1) > CONTENT_LIMITS.maxDepth) {
      ctx.addIssue({ code: 'custom', message: `nesting deeper than ${CONTENT_LIMITS.maxDepth} levels`, path: ['blocks'] });
    }
    if (!allowParameters) {
      for (const node of inlineNodesOf(content.blocks)) {
        if (node.type === 'parameter') {
          ctx.addIssue({ code: 'custom', message: 'parameter nodes are only allowed in templates', path: ['blocks'] });
          return;
        }
      }
    }
  });

/** Content of a document (and of a generation job's output): no `parameter` nodes. */
export const DocumentContent: z.ZodType<Content> = makeContent(false);
/** Content of a template version: may hold `parameter` nodes. */
export const TemplateContent: z.ZodType<Content> = makeContent(true);
