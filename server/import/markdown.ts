import type * as md from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import type { z } from 'zod';
import { TEMPLATE_PARAMETER_TYPES, type TemplateParameterDeclaration, type TemplateParameterType } from '../contract/api.js';
import {
  DocumentContent,
  TemplateContent,
  type Block,
  type Content,
  type InlineNode,
  type ListItem,
  type Mark,
  type TableCell,
} from '../contract/content.js';
import { CONTENT_LIMITS } from '../contract/limits.js';
import { isParameterName, MAX_PARAMETER_NAME_LENGTH } from '../contract/parameter-name.js';

/**
 * Imports GitHub-flavoured Markdown into the content tree (see ../contract/content.ts).
 *
 * The tree has fewer constructs than Markdown, so some are flattened: images become their
 * alt text, strikethrough keeps its text, footnotes keep their `[^label]` text, raw HTML is
 * kept as literal text and never interpreted.
 *
 * Cost caveat: the input size cap bounds memory, not time. micromark has super-linear cases
 * (e.g. thousands of separate block quotes, or long runs of `*` / `[`) where even a few
 * hundred KiB take seconds to parse. The CLI imports through markdown-deadline.ts, which runs
 * the parse in a child process under a time limit.
 */

export const MARKDOWN_LIMITS = {
  maxInputBytes: 5 * 1024 * 1024,
} as const;

export class MarkdownImportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MarkdownImportError';
  }
}

/** A document: `{{...}}` is ordinary text. */
export function markdownToContent(markdown: string): Content {
  const tree = parse(markdown);
  const blocks = new Converter(tree, null).convert();
  return validate(DocumentContent, { blocks });
}

/** A template: `{{name}}`, `{{name?}}`, `{{name:type}}`, `{{name?:type}}` become parameter nodes. */
export function markdownToTemplate(markdown: string): { content: Content; parameters: TemplateParameterDeclaration[] } {
  const tree = parse(markdown);
  const parameters = new ParameterCollector();
  const blocks = new Converter(tree, parameters).convert();
  return { content: validate(TemplateContent, { blocks }), parameters: parameters.declarations() };
}

function parse(markdown: string): md.Root {
  // Callers may pass untyped JSON through; a clear error beats a TypeError from micromark.
  if (typeof markdown !== 'string') throw new MarkdownImportError('Markdown input must be a string');
  const bytes = Buffer.byteLength(markdown, 'utf8');
  if (bytes > MARKDOWN_LIMITS.maxInputBytes) {
    throw new MarkdownImportError(
      `Markdown input is ${bytes} bytes; at most ${MARKDOWN_LIMITS.maxInputBytes} bytes (5 MiB) can be imported`,
    );
  }
  rejectRunawayNesting(markdown);
  try {
    return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  } catch (error) {
    // micromark and the GFM transforms recurse per nesting level; thousands of `>` or `*`
    // overflow the stack before our own depth check could run.
    if (error instanceof RangeError) {
      throw new MarkdownImportError(
        'Markdown is nested too deeply to import (block quotes, lists or emphasis inside one another)',
        { cause: error },
      );
    }
    throw new MarkdownImportError(`Markdown could not be parsed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function validate(schema: z.ZodType<Content>, content: Content): Content {
  const result = schema.safeParse(content);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const shown = issues.slice(0, 5).map((issue) => `${issue.message} (at ${formatPath(issue.path)})`);
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  throw new MarkdownImportError(`imported Markdown does not fit the content model: ${shown.join('; ')}`, {
    cause: result.error,
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = 'content';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

function lineOf(node: md.Nodes): string {
  const line = node.position?.start.line;
  return line === undefined ? '' : ` (line ${line})`;
}

// ---------------------------------------------------------------------------------------
// Template parameters

const PARAMETER_PATTERN = /\{\{([^{}]*)\}\}/g;
const PARAMETER_SYNTAX = /^\s*([^\s?:]*)\s*(\?)?\s*(?::\s*(\S*)\s*)?$/;

class ParameterCollector {
  private readonly byName = new Map<string, { declaration: TemplateParameterDeclaration; firstUse: string }>();

  /** Parses the inside of one `{{...}}` and records it; returns the parameter name. */
  use(raw: string, inner: string, where: string): string {
    const syntax = PARAMETER_SYNTAX.exec(inner);
    if (!syntax) {
      throw new MarkdownImportError(
        `invalid template parameter ${raw}${where}: expected {{name}}, {{name?}}, {{name:type}} or {{name?:type}}`,
      );
    }
    const name = syntax[1] ?? '';
    if (name.length === 0) throw new MarkdownImportError(`template parameter ${raw}${where} has no name`);
    // The declaration's own rule, checked here as well to name the culprit and its line.
    if (!isParameterName(name)) {
      throw new MarkdownImportError(
        `invalid template parameter name "${name}" in ${raw}${where}: a name starts with a letter or "_", ` +
          `continues with letters, digits, "_", "." or "-", and has at most ${MAX_PARAMETER_NAME_LENGTH} characters`,
      );
    }
    const typeName = syntax[3];
    let type: TemplateParameterType = 'string';
    if (typeName !== undefined) {
      if (!isParameterType(typeName)) {
        throw new MarkdownImportError(
          `unknown type "${typeName}" for template parameter "${name}" in ${raw}${where}; ` +
            `expected one of ${TEMPLATE_PARAMETER_TYPES.join(', ')}`,
        );
      }
      type = typeName;
    }
    const required = syntax[2] === undefined;
    const known = this.byName.get(name);
    if (!known) {
      this.byName.set(name, { declaration: { name, type, required }, firstUse: raw });
    } else if (known.declaration.type !== type) {
      // An untyped use means "string" (as documented), so it conflicts with a typed one too.
      throw new MarkdownImportError(
        `template parameter "${name}" is used with two types: ${known.declaration.type} (${known.firstUse}) and ` +
          `${type} (${raw}${where}); write the same type at every use`,
      );
    } else if (required) {
      known.declaration.required = true;
    }
    return name;
  }

  declarations(): TemplateParameterDeclaration[] {
    return [...this.byName.values()].map(({ declaration }) => ({ ...declaration }));
  }
}

function isParameterType(value: string): value is TemplateParameterType {
  return (TEMPLATE_PARAMETER_TYPES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------
// Conversion

type MarkState = { bold: boolean; italic: boolean; code: boolean; link: string | undefined };
const NO_MARKS: MarkState = { bold: false, italic: false, code: false, link: undefined };

const PAGE_BREAK_HTML = /^<!--\s*pagebreak\s*-->$/i;
const PAGE_BREAK_LINE = /^[ \t]*\\pagebreak[ \t]*$/;
const TASK_PREFIX = { checked: '☑ ', unchecked: '☐ ' } as const;

type Segment = md.PhrasingContent[] | 'pageBreak';

class Converter {
  private readonly definitions: Map<string, string>;

  constructor(
    private readonly root: md.Root,
    private readonly parameters: ParameterCollector | null,
  ) {
    this.definitions = survey(root);
  }

  convert(): Block[] {
    return this.blocks(this.root.children);
  }

  // Recursion here is bounded: survey() has already rejected nesting beyond maxDepth.
  private blocks(nodes: readonly md.RootContent[]): Block[] {
    const out: Block[] = [];
    for (const node of nodes) this.block(node, out);
    return out;
  }

  private block(node: md.RootContent, out: Block[]): void {
    switch (node.type) {
      case 'heading':
        out.push({ type: 'heading', level: node.depth, content: this.inlines(node.children) });
        return;
      case 'paragraph':
        for (const segment of splitOnPageBreaks(node.children)) {
          if (segment === 'pageBreak') out.push({ type: 'pageBreak' });
          else out.push({ type: 'paragraph', content: this.inlines(segment) });
        }
        return;
      case 'blockquote':
        out.push({ type: 'quote', content: this.blocks(node.children) });
        return;
      case 'list': {
        const items = node.children.map((item) => this.listItem(item));
        if (!node.ordered) out.push({ type: 'bulletList', items });
        else if (node.start != null && node.start !== 1) out.push({ type: 'orderedList', start: node.start, items });
        else out.push({ type: 'orderedList', items });
        return;
      }
      case 'code':
        out.push(
          node.lang ? { type: 'codeBlock', language: node.lang, text: node.value } : { type: 'codeBlock', text: node.value },
        );
        return;
      case 'thematicBreak':
        out.push({ type: 'divider' });
        return;
      case 'html':
        if (PAGE_BREAK_HTML.test(node.value.trim())) out.push({ type: 'pageBreak' });
        else if (node.value.length > 0) out.push({ type: 'paragraph', content: [{ type: 'text', text: node.value }] });
        return;
      case 'table':
        out.push(this.table(node));
        return;
      case 'definition':
        // Only feeds reference links (collected by survey); it has no content of its own.
        return;
      case 'footnoteDefinition': {
        // Kept where it was written, as plain blocks, with its label in front like the source.
        const content = this.blocks(node.children);
        prefixFirstParagraph(content, `[^${node.label ?? node.identifier}]: `);
        out.push(...content);
        return;
      }
      default:
        throw new MarkdownImportError(`unsupported Markdown construct "${node.type}"${lineOf(node)}`);
    }
  }

  private listItem(item: md.ListItem): ListItem {
    const content = this.blocks(item.children);
    if (typeof item.checked === 'boolean') {
      prefixFirstParagraph(content, item.checked ? TASK_PREFIX.checked : TASK_PREFIX.unchecked);
    }
    return { content };
  }

  private table(node: md.Table): Block {
    const [head, ...body] = node.children;
    const header = (head?.children ?? []).map((cell) => this.cell(cell));
    // GFM semantics: short rows are padded with empty cells, cells beyond the header are dropped.
    const rows = body.map((row) =>
      header.map((_, column): TableCell => {
        const cell = row.children[column];
        return cell ? this.cell(cell) : { content: [] };
      }),
    );
    // GFM's `:--` / `:-:` / `--:`, one per header column; left out when no column has one,
    // so tables without colons import as they always have.
    const align = header.map((_, column) => node.align?.[column] ?? null);
    return align.some((a) => a !== null) ? { type: 'table', header, rows, align } : { type: 'table', header, rows };
  }

  private cell(cell: md.TableCell): TableCell {
    return { content: this.inlines(cell.children) };
  }

  /**
   * Flattens nested phrasing into marked runs. Iterative, because emphasis can nest far
   * deeper than blocks (`*****…`) and the tree's depth is not otherwise bounded.
   */
  private inlines(children: readonly md.PhrasingContent[]): InlineNode[] {
    const out: InlineNode[] = [];
    const stack: Array<{ nodes: readonly md.PhrasingContent[]; index: number; marks: MarkState }> = [
      { nodes: children, index: 0, marks: NO_MARKS },
    ];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const node = frame.nodes[frame.index++];
      if (!node) {
        stack.pop();
        continue;
      }
      const marks = frame.marks;
      switch (node.type) {
        case 'text':
          // A soft line break is a space when rendered (CommonMark); only `break` forces a new line.
          this.text(node.value.replace(/\r?\n/g, ' '), marks, node, out);
          break;
        case 'break':
          pushText(out, '\n', marks);
          break;
        case 'inlineCode':
          pushText(out, node.value, { ...marks, code: true });
          break;
        case 'emphasis':
          stack.push({ nodes: node.children, index: 0, marks: { ...marks, italic: true } });
          break;
        case 'strong':
          stack.push({ nodes: node.children, index: 0, marks: { ...marks, bold: true } });
          break;
        case 'delete':
          stack.push({ nodes: node.children, index: 0, marks });
          break;
        case 'link':
        case 'linkReference': {
          const url = node.type === 'link' ? node.url : this.definitions.get(node.identifier);
          // An empty href is not a valid link mark; keep the text unlinked.
          const linked: MarkState = url ? { ...marks, link: url } : marks;
          if (node.children.length > 0) stack.push({ nodes: node.children, index: 0, marks: linked });
          else if (url) pushText(out, url, linked);
          break;
        }
        case 'image':
          this.text(node.alt || node.url, marks, node, out);
          break;
        case 'imageReference':
          this.text(node.alt || this.definitions.get(node.identifier) || '', marks, node, out);
          break;
        case 'footnoteReference':
          pushText(out, `[^${node.label ?? node.identifier}]`, marks);
          break;
        case 'html':
          pushText(out, node.value, marks);
          break;
        default:
          throw new MarkdownImportError(`unsupported Markdown construct "${(node as md.Nodes).type}"${lineOf(node)}`);
      }
    }
    return out;
  }

  private text(value: string, marks: MarkState, node: md.Nodes, out: InlineNode[]): void {
    if (!this.parameters) {
      pushText(out, value, marks);
      return;
    }
    let last = 0;
    for (const match of value.matchAll(PARAMETER_PATTERN)) {
      pushText(out, value.slice(last, match.index), marks);
      const name = this.parameters.use(match[0], match[1] ?? '', lineOf(node));
      out.push({ type: 'parameter', name });
      last = match.index + match[0].length;
    }
    pushText(out, value.slice(last), marks);
  }
}

/**
 * One pass over the whole tree before converting: rejects nesting the content model cannot
 * hold (so conversion cannot recurse deeply) and collects link reference definitions, which
 * apply document-wide wherever they are written.
 */
function survey(root: md.Root): Map<string, string> {
  const definitions = new Map<string, string>();
  const stack: Array<{ node: md.Nodes; depth: number }> = [{ node: root, depth: 1 }];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const { node, depth } = entry;
    // CommonMark: the first definition of a label wins.
    if (node.type === 'definition' && !definitions.has(node.identifier)) definitions.set(node.identifier, node.url);
    if (!('children' in node)) continue;
    // Mirrors depthOf in content.ts: a quote's content, and a list's items' content, sit one level down.
    const childDepth = node.type === 'blockquote' || node.type === 'list' ? depth + 1 : depth;
    if (childDepth > CONTENT_LIMITS.maxDepth) throw tooDeep(lineOf(node));
    // Reverse push keeps document order, which "first definition wins" depends on.
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, depth: childDepth });
  }
  return definitions;
}

function tooDeep(where: string): MarkdownImportError {
  // maxDepth counts the top level too, so it allows one level less of actual nesting.
  return new MarkdownImportError(
    `Markdown nests block quotes and lists too deeply${where}: at most ${CONTENT_LIMITS.maxDepth - 1} levels ` +
      'inside one another can be imported',
  );
}

/**
 * micromark's cost grows super-linearly with the nesting opened by one line, and 5 MiB of
 * `>` runs for minutes before it overflows the stack. This guard runs before parsing and
 * only looks at each line's leading container markers (`>`, list bullets, indentation), so
 * it is deliberately loose: a line opening this many levels could never be imported anyway,
 * unless it sits in a code block, which the guard cannot see and which such lines are
 * implausible in. The exact depth check happens on the parsed tree (survey).
 */
const RUNAWAY_NESTING_LEVELS = 100;

function rejectRunawayNesting(markdown: string): void {
  let line = 1;
  let start = 0;
  while (start <= markdown.length) {
    // micromark also ends lines at a lone CR; missing that would let a bomb hide behind one.
    let end = start;
    while (end < markdown.length && markdown[end] !== '\n' && markdown[end] !== '\r') end++;
    if (leadingLevels(markdown, start, end) > RUNAWAY_NESTING_LEVELS) throw tooDeep(` (line ${line})`);
    start = markdown[end] === '\r' && markdown[end + 1] === '\n' ? end + 2 : end + 1;
    line++;
  }
}

/** Roughly how many containers the start of a line opens: max(markers, indentation / 2). */
function leadingLevels(text: string, start: number, end: number): number {
  // `* * * *` is a thematic break, not nested bullets: where the rest of the line is one
  // repeated character (and blanks), stop counting. Found once per line to stay linear.
  let tailStart = end;
  let tailChar = -1;
  for (let j = end - 1; j >= start; j--) {
    const ch = text.charCodeAt(j);
    if (ch === 0x20 || ch === 0x09) continue;
    if (tailChar === -1) tailChar = ch;
    if (ch !== tailChar) break;
    tailStart = j;
  }
  let markers = 0;
  let columns = 0;
  let i = start;
  while (i < end) {
    const ch = text.charCodeAt(i);
    if (ch === 0x20) {
      columns++;
      i++;
    } else if (ch === 0x09) {
      columns += 4 - (columns % 4);
      i++;
    } else if (ch === 0x3e /* > */) {
      markers++;
      i++;
    } else {
      const marker = listMarkerLength(text, i, end);
      if (marker === 0 || (i >= tailStart && ch === tailChar)) break;
      markers++;
      i += marker;
    }
  }
  return markers === 0 ? 0 : Math.max(markers, Math.floor(columns / 2));
}

function listMarkerLength(text: string, i: number, end: number): number {
  const ch = text.charCodeAt(i);
  let length = 0;
  if (ch === 0x2d /* - */ || ch === 0x2b /* + */ || ch === 0x2a /* * */) {
    length = 1;
  } else {
    while (length < 9 && i + length < end && isDigit(text.charCodeAt(i + length))) length++;
    if (length === 0) return 0;
    const delimiter = text.charCodeAt(i + length);
    if (delimiter !== 0x2e /* . */ && delimiter !== 0x29 /* ) */) return 0;
    length++;
  }
  const after = i + length;
  if (after >= end) return length;
  const next = text.charCodeAt(after);
  return next === 0x20 || next === 0x09 ? length : 0;
}

function isDigit(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

/**
 * Splits a paragraph where a line consists only of `\pagebreak`. Such a line has no
 * Markdown meaning, so the parser leaves it inside the surrounding paragraph's text.
 */
function splitOnPageBreaks(children: readonly md.PhrasingContent[]): Segment[] {
  const segments: Segment[] = [];
  let current: md.PhrasingContent[] = [];
  let skipBreak = false;
  const pageBreak = () => {
    if (current.at(-1)?.type === 'break') current.pop();
    if (current.length > 0) segments.push(current);
    segments.push('pageBreak');
    current = [];
    skipBreak = true;
  };
  children.forEach((child, index) => {
    if (skipBreak && child.type === 'break') {
      skipBreak = false;
      return;
    }
    skipBreak = false;
    if (child.type !== 'text' || !child.value.includes('\\pagebreak')) {
      current.push(child);
      return;
    }
    const startsLine = index === 0 || children[index - 1]?.type === 'break';
    const endsLine = index === children.length - 1 || children[index + 1]?.type === 'break';
    const lines = child.value.split('\n');
    let pending: string[] = [];
    const flush = () => {
      if (pending.length > 0) current.push({ ...child, value: pending.join('\n') });
      pending = [];
    };
    lines.forEach((line, i) => {
      const wholeLine = (i > 0 || startsLine) && (i < lines.length - 1 || endsLine);
      if (wholeLine && PAGE_BREAK_LINE.test(line)) {
        flush();
        pageBreak();
      } else {
        pending.push(line);
        skipBreak = false;
      }
    });
    flush();
  });
  if (current.length > 0 || segments.length === 0) segments.push(current);
  return segments;
}

function prefixFirstParagraph(content: Block[], prefix: string): void {
  const first = content[0];
  if (first?.type === 'paragraph') {
    const inlines: InlineNode[] = [];
    pushText(inlines, prefix, NO_MARKS);
    for (const node of first.content) pushInline(inlines, node);
    first.content = inlines;
  } else {
    content.unshift({ type: 'paragraph', content: [{ type: 'text', text: prefix.trimEnd() }] });
  }
}

function marksOf(state: MarkState): Mark[] {
  // A fixed order, so that equal mark sets compare equal however the source nested them.
  const marks: Mark[] = [];
  if (state.bold) marks.push({ type: 'bold' });
  if (state.italic) marks.push({ type: 'italic' });
  if (state.code) marks.push({ type: 'code' });
  if (state.link !== undefined) marks.push({ type: 'link', href: state.link });
  return marks;
}

function pushText(out: InlineNode[], text: string, state: MarkState): void {
  if (text.length === 0) return;
  const marks = marksOf(state);
  pushInline(out, marks.length > 0 ? { type: 'text', text, marks } : { type: 'text', text });
}

/** Appends, merging into the previous text node when the marks are identical. */
function pushInline(out: InlineNode[], node: InlineNode): void {
  const previous = out.at(-1);
  if (node.type === 'text' && previous?.type === 'text' && sameMarks(previous.marks, node.marks)) {
    out[out.length - 1] = { ...previous, text: previous.text + node.text };
  } else {
    out.push(node);
  }
}

function sameMarks(a: readonly Mark[] | undefined, b: readonly Mark[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  return (
    left.length === right.length &&
    left.every((mark, i) => {
      const other = right[i];
      return other?.type === mark.type && (mark.type !== 'link' || (other.type === 'link' && other.href === mark.href));
    })
  );
}
