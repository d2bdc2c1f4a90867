import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TemplateParameterDeclaration } from '../server/contract/api.js';
import {
  DocumentContent,
  TemplateContent,
  type Block,
  type InlineNode,
  type Mark,
} from '../server/contract/content.js';
import { CONTENT_LIMITS } from '../server/contract/limits.js';
import {
  MARKDOWN_LIMITS,
  MarkdownImportError,
  markdownToContent,
  markdownToTemplate,
} from '../server/import/markdown.js';

const bold: Mark = { type: 'bold' };
const italic: Mark = { type: 'italic' };
const code: Mark = { type: 'code' };
const link = (href: string): Mark => ({ type: 'link', href });

const t = (text: string, ...marks: Mark[]): InlineNode => (marks.length > 0 ? { type: 'text', text, marks } : { type: 'text', text });
const param = (name: string): InlineNode => ({ type: 'parameter', name });
const p = (...content: InlineNode[]): Block => ({ type: 'paragraph', content });
const item = (...content: Block[]) => ({ content });
const cell = (...content: InlineNode[]) => ({ content });

const blocks = (markdown: string) => markdownToContent(markdown).blocks;
const importError = (run: () => unknown): MarkdownImportError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MarkdownImportError);
    return error as MarkdownImportError;
  }
  throw new Error('expected a MarkdownImportError');
};

describe('markdownToContent: blocks', () => {
  it('imports empty and blank input as no blocks', () => {
    expect(markdownToContent('')).toEqual({ blocks: [] });
    expect(markdownToContent('  \n\n\t\n')).toEqual({ blocks: [] });
  });

  it('maps ATX and setext headings to their level', () => {
    expect(blocks('# One\n## Two\n### Three\n#### Four\n##### Five\n###### Six\n\nSet\next\n===\n\nUnder\n---')).toEqual([
      { type: 'heading', level: 1, content: [t('One')] },
      { type: 'heading', level: 2, content: [t('Two')] },
      { type: 'heading', level: 3, content: [t('Three')] },
      { type: 'heading', level: 4, content: [t('Four')] },
      { type: 'heading', level: 5, content: [t('Five')] },
      { type: 'heading', level: 6, content: [t('Six')] },
      { type: 'heading', level: 1, content: [t('Set ext')] },
      { type: 'heading', level: 2, content: [t('Under')] },
    ]);
  });

  it('turns soft line breaks into spaces and hard breaks into "\\n"', () => {
    expect(blocks('one\ntwo  \nthree\\\nfour')).toEqual([p(t('one two\nthree\nfour'))]);
  });

  it('maps fenced and indented code to code blocks, keeping the language', () => {
    expect(blocks('```ts title="x"\nconst a = 1;\n\n  *not emphasis*\n```\n\n    indented\n    code\n\n~~~\nplain\n~~~')).toEqual([
      { type: 'codeBlock', language: 'ts', text: 'const a = 1;\n\n  *not emphasis*' },
      { type: 'codeBlock', text: 'indented\ncode' },
      { type: 'codeBlock', text: 'plain' },
    ]);
  });

  it('maps block quotes (with nested blocks) and thematic breaks', () => {
    expect(blocks('> # Title\n> text\n>\n> > inner\n\n---\n\n***')).toEqual([
      {
        type: 'quote',
        content: [
          { type: 'heading', level: 1, content: [t('Title')] },
          p(t('text')),
          { type: 'quote', content: [p(t('inner'))] },
        ],
      },
      { type: 'divider' },
      { type: 'divider' },
    ]);
  });

  it('keeps HTML as raw, uninterpreted text', () => {
    expect(blocks('<div class="x">\n*raw* {{p}}\n</div>\n\nbefore <b>bold?</b> after')).toEqual([
      p(t('<div class="x">\n*raw* {{p}}\n</div>')),
      p(t('before <b>bold?</b> after')),
    ]);
  });

  it('maps page break markers to pageBreak blocks', () => {
    expect(blocks('a\n\n<!-- pagebreak -->\n\nb\n<!--PAGEBREAK-->\n\\pagebreak\n\nc\n\\pagebreak\nd\\\n\\pagebreak\ne')).toEqual([
      p(t('a')),
      { type: 'pageBreak' },
      p(t('b')),
      { type: 'pageBreak' },
      { type: 'pageBreak' },
      p(t('c')),
      { type: 'pageBreak' },
      p(t('d')),
      { type: 'pageBreak' },
      p(t('e')),
    ]);
  });

  it('only treats a whole line as a page break', () => {
    expect(blocks('see \\pagebreak here\n\n*\\pagebreak*\n\n```\n\\pagebreak\n<!-- pagebreak -->\n```\n\n> \\pagebreak')).toEqual([
      p(t('see \\pagebreak here')),
      p(t('\\pagebreak', italic)),
      { type: 'codeBlock', text: '\\pagebreak\n<!-- pagebreak -->' },
      { type: 'quote', content: [{ type: 'pageBreak' }] },
    ]);
  });
});

describe('markdownToContent: inline marks', () => {
  it('maps emphasis, strong and inline code to marks, combining nested marks', () => {
    expect(blocks('*i* **b** ***bi*** _**ib**_ `c` **`bc`**')).toEqual([
      p(
        t('i', italic),
        t(' '),
        t('b', bold),
        t(' '),
        t('bi', bold, italic),
        t(' '),
        t('ib', bold, italic),
        t(' '),
        t('c', code),
        t(' '),
        t('bc', bold, code),
      ),
    ]);
  });

  it('splits runs where marks change and merges adjacent runs with identical marks', () => {
    expect(blocks('**a *b* c**')).toEqual([p(t('a ', bold), t('b', bold, italic), t(' c', bold))]);
    expect(blocks('*a*_b_ [x](/u)[y](/u) [z](/v)')).toEqual([
      p(t('ab', italic), t(' '), t('xy', link('/u')), t(' '), t('z', link('/v'))),
    ]);
    expect(blocks('a &amp; b \\* c')).toEqual([p(t('a & b * c'))]);
  });

  it('maps links, autolinks, autolink literals and reference links to link marks', () => {
    expect(
      blocks(
        '[a **b**](https://x.test/p "title") <https://auto.test> www.example.com https://lit.test/q ' +
          'me@mail.test [r][ref] [ref]\n\n[ref]: https://ref.test',
      ),
    ).toEqual([
      p(
        t('a ', link('https://x.test/p')),
        t('b', bold, link('https://x.test/p')),
        t(' '),
        t('https://auto.test', link('https://auto.test')),
        t(' '),
        t('www.example.com', link('http://www.example.com')),
        t(' '),
        t('https://lit.test/q', link('https://lit.test/q')),
        t(' '),
        t('me@mail.test', link('mailto:me@mail.test')),
        t(' '),
        t('r', link('https://ref.test')),
        t(' '),
        t('ref', link('https://ref.test')),
      ),
    ]);
  });

  it('keeps a link with no text as its url, and drops a link with no url', () => {
    expect(blocks('[](https://x.test) [text]()')).toEqual([p(t('https://x.test', link('https://x.test')), t(' text'))]);
  });

  it('replaces images by their alt text, or their url without one', () => {
    expect(blocks('![A cat](cat.png) ![](https://img.test/d.png) [![logo](l.png)](https://home.test) ![ref alt][i]\n\n[i]: i.png')).toEqual([
      p(t('A cat https://img.test/d.png '), t('logo', link('https://home.test')), t(' ref alt')),
    ]);
  });

  it('keeps the text of strikethrough (there is no mark for it)', () => {
    expect(blocks('a ~~gone~~ **~~b~~**')).toEqual([p(t('a gone '), t('b', bold))]);
  });

  it('keeps footnote references as text and definitions as labelled paragraphs', () => {
    expect(blocks('Claim[^1] and *more*[^note].\n\n[^1]: First *source*.\n\n[^note]:\n    ```\n    code\n    ```')).toEqual([
      p(t('Claim[^1] and '), t('more', italic), t('[^note].')),
      p(t('[^1]: First '), t('source', italic), t('.')),
      p(t('[^note]:')),
      { type: 'codeBlock', text: 'code' },
    ]);
  });
});

describe('markdownToContent: lists and tables', () => {
  it('maps bullet and ordered lists, with start only when it is not 1', () => {
    expect(blocks('- a\n- b\n\n1. one\n2. two\n\n3) three\n\n0. zero')).toEqual([
      { type: 'bulletList', items: [item(p(t('a'))), item(p(t('b')))] },
      { type: 'orderedList', items: [item(p(t('one'))), item(p(t('two')))] },
      { type: 'orderedList', start: 3, items: [item(p(t('three')))] },
      { type: 'orderedList', start: 0, items: [item(p(t('zero')))] },
    ]);
  });

  it('maps nested lists (with an ordered start) and loose items to block content', () => {
    expect(blocks('1. first\n\n   second paragraph\n2. two\n\n   7. seven\n   8. eight\n      - deep\n-\n')).toEqual([
      {
        type: 'orderedList',
        items: [
          item(p(t('first')), p(t('second paragraph'))),
          item(p(t('two')), {
            type: 'orderedList',
            start: 7,
            items: [item(p(t('seven'))), item(p(t('eight')), { type: 'bulletList', items: [item(p(t('deep')))] })],
          }),
        ],
      },
      { type: 'bulletList', items: [item()] },
    ]);
  });

  it('prefixes task list items with a checkbox', () => {
    expect(blocks('- [ ] todo **now**\n- [x] done\n- [X] also done\n- plain')).toEqual([
      {
        type: 'bulletList',
        items: [
          item(p(t('☐ todo '), t('now', bold))),
          item(p(t('☑ done'))),
          item(p(t('☑ also done'))),
          item(p(t('plain'))),
        ],
      },
    ]);
  });

  it('maps GFM tables with inline marks in cells, padding short rows and dropping extra cells', () => {
    expect(
      blocks('| Name | **Qty** | Link |\n|:-----|----:|:-:|\n| *a* | `1` | [x](https://x.test) |\n| b \\| c |\n| d | 2 | 3 | extra |'),
    ).toEqual([
      {
        type: 'table',
        header: [cell(t('Name')), cell(t('Qty', bold)), cell(t('Link'))],
        rows: [
          [cell(t('a', italic)), cell(t('1', code)), cell(t('x', link('https://x.test')))],
          [cell(t('b | c')), cell(), cell()],
          [cell(t('d')), cell(t('2')), cell(t('3'))],
        ],
        align: ['left', 'right', 'center'],
      },
    ]);
  });

  it('imports column alignment from GFM colons, null where a column has none, and none at all without colons', () => {
    const [mixed] = blocks('| a | b | c |\n|---|:-:|--:|\n| 1 | 2 | 3 |');
    expect(mixed).toMatchObject({ type: 'table', align: [null, 'center', 'right'] });
    const [plain] = blocks('| a | b |\n|---|---|\n| 1 | 2 |');
    expect(plain).toEqual({ type: 'table', header: [cell(t('a')), cell(t('b'))], rows: [[cell(t('1')), cell(t('2'))]] });
    expect(Object.hasOwn(plain!, 'align')).toBe(false);
    expect(DocumentContent.parse({ blocks: [mixed] })).toEqual({ blocks: [mixed] });
  });

  it('keeps {{...}} as plain text in documents', () => {
    expect(blocks('Hello {{name}} and {{ bad name }}')).toEqual([p(t('Hello {{name}} and {{ bad name }}'))]);
  });
});

describe('markdownToTemplate', () => {
  it('turns parameter syntax variations into parameter nodes and declarations', () => {
    const { content, parameters } = markdownToTemplate(
      'Dear {{name}}, due {{due?:date}} ({{ amount : double }}), note {{note?}}, at {{ when ? : dateTime }}, ' +
        'obj {{o:objectRid}} set {{s?:objectSetRid}} {{x.y-z_1:string}}',
    );
    expect(content.blocks).toEqual([
      p(
        t('Dear '),
        param('name'),
        t(', due '),
        param('due'),
        t(' ('),
        param('amount'),
        t('), note '),
        param('note'),
        t(', at '),
        param('when'),
        t(', obj '),
        param('o'),
        t(' set '),
        param('s'),
        t(' '),
        param('x.y-z_1'),
      ),
    ]);
    expect(parameters).toEqual([
      { name: 'name', type: 'string', required: true },
      { name: 'due', type: 'date', required: false },
      { name: 'amount', type: 'double', required: true },
      { name: 'note', type: 'string', required: false },
      { name: 'when', type: 'dateTime', required: false },
      { name: 'o', type: 'objectRid', required: true },
      { name: 's', type: 'objectSetRid', required: false },
      { name: 'x.y-z_1', type: 'string', required: true },
    ]);
    for (const declaration of parameters) expect(TemplateParameterDeclaration.parse(declaration)).toEqual(declaration);
  });

  it('finds parameters in headings, marks, links, list items, quotes and table cells', () => {
    const { content, parameters } = markdownToTemplate(
      '# Report for {{client}}\n\n**Total: {{total:double}}** [see {{ref}}](https://x.test)\n\n' +
        '- {{a}}\n  > {{b}}\n\n| {{h}} | x |\n|---|---|\n| *{{c?}}* | {{d:date}} |',
    );
    expect(content.blocks).toEqual([
      { type: 'heading', level: 1, content: [t('Report for '), param('client')] },
      p(t('Total: ', bold), param('total'), t(' '), t('see ', link('https://x.test')), param('ref')),
      { type: 'bulletList', items: [item(p(param('a')), { type: 'quote', content: [p(param('b'))] })] },
      {
        type: 'table',
        header: [cell(param('h')), cell(t('x'))],
        rows: [[cell(param('c')), cell(param('d'))]],
      },
    ]);
    expect(parameters.map((d) => d.name)).toEqual(['client', 'total', 'ref', 'a', 'b', 'h', 'c', 'd']);
    expect(TemplateContent.safeParse(content).success).toBe(true);
  });

  it('keeps {{...}} literal in code spans and code blocks', () => {
    const { content, parameters } = markdownToTemplate('`{{x}}` and {{y}}\n\n```\n{{x}} {{not a param}}\n```\n\n    {{z}}');
    expect(content.blocks).toEqual([
      p(t('{{x}}', code), t(' and '), param('y')),
      { type: 'codeBlock', text: '{{x}} {{not a param}}' },
      { type: 'codeBlock', text: '{{z}}' },
    ]);
    expect(parameters).toEqual([{ name: 'y', type: 'string', required: true }]);
  });

  it('lists each parameter once, required if any use is required', () => {
    const { content, parameters } = markdownToTemplate('{{a?}} {{b:date}} {{a}} {{b?:date}} {{a?}}');
    expect(content.blocks).toEqual([p(param('a'), t(' '), param('b'), t(' '), param('a'), t(' '), param('b'), t(' '), param('a'))]);
    expect(parameters).toEqual([
      { name: 'a', type: 'string', required: true },
      { name: 'b', type: 'date', required: true },
    ]);
  });

  it('leaves lone or unbalanced braces as text', () => {
    const { content, parameters } = markdownToTemplate('{a} {{b} {{{c}}} }}');
    expect(content.blocks).toEqual([p(t('{a} {{b} {'), param('c'), t('} }}'))]);
    expect(parameters).toEqual([{ name: 'c', type: 'string', required: true }]);
  });

  it('imports a template without parameters', () => {
    expect(markdownToTemplate('')).toEqual({ content: { blocks: [] }, parameters: [] });
    expect(markdownToTemplate('plain')).toEqual({ content: { blocks: [p(t('plain'))] }, parameters: [] });
  });

  it('rejects the same name with two different types, naming it', () => {
    expect(importError(() => markdownToTemplate('{{due:date}}\n\nlater {{due:dateTime}}')).message).toMatch(
      /parameter "due" is used with two types: date \({{due:date}}\) and dateTime \({{due:dateTime}} \(line 3\)\)/,
    );
    // An untyped use means string, so it conflicts with a typed one.
    expect(importError(() => markdownToTemplate('{{n:double}} {{n}}')).message).toMatch(/"n" is used with two types: double .* and string/);
  });

  it('rejects unknown types, listing the valid ones', () => {
    const error = importError(() => markdownToTemplate('x\n\n# {{when:Date}}'));
    expect(error.message).toBe(
      'unknown type "Date" for template parameter "when" in {{when:Date}} (line 3); ' +
        'expected one of string, double, date, dateTime, objectRid, objectSetRid',
    );
    expect(importError(() => markdownToTemplate('{{when:}}')).message).toMatch(/unknown type "" for template parameter "when"/);
  });

  it('rejects invalid names and malformed parameters', () => {
    expect(importError(() => markdownToTemplate('{{1st}}')).message).toMatch(/invalid template parameter name "1st" in {{1st}}/);
    expect(importError(() => markdownToTemplate('{{a-}} {{caf\u00e9}}')).message).toMatch(/name "café"/);
    expect(importError(() => markdownToTemplate(`{{${'a'.repeat(257)}}}`)).message).toMatch(/at most 256 characters/);
    expect(importError(() => markdownToTemplate('| {{a b}} |\n|-|')).message).toMatch(/invalid template parameter {{a b}} \(line 1\): expected/);
    expect(importError(() => markdownToTemplate('{{ }}')).message).toMatch(/template parameter {{ }} .*has no name/);
    expect(importError(() => markdownToTemplate('{{a:date?}}')).message).toMatch(/unknown type "date\?"/);
  });
});

describe('limits and validation', () => {
  it('imports nesting up to the content model depth and rejects one level more', () => {
    const quotes = (n: number) => `${'> '.repeat(n)}x`;
    const allowed = markdownToContent(quotes(CONTENT_LIMITS.maxDepth - 1));
    expect(DocumentContent.safeParse(allowed).success).toBe(true);
    expect(importError(() => markdownToContent(quotes(CONTENT_LIMITS.maxDepth))).message).toBe(
      'Markdown nests block quotes and lists too deeply (line 1): at most 11 levels inside one another can be imported',
    );
    expect(() => markdownToContent(`${'- '.repeat(CONTENT_LIMITS.maxDepth - 1)}x`)).not.toThrow();
    expect(importError(() => markdownToContent(`${'- '.repeat(CONTENT_LIMITS.maxDepth)}x`)).message).toMatch(/too deeply \(line 1\)/);
    const indented = Array.from({ length: 14 }, (_, i) => `${'  '.repeat(i)}- level ${i}`).join('\n');
    expect(importError(() => markdownToContent(indented)).message).toMatch(/too deeply \(line 12\)/);
    expect(importError(() => markdownToContent(`ok\n\n> - > - > - > - > - > - x`)).message).toMatch(/too deeply \(line 3\)/);
  });

  it('rejects runaway nesting quickly instead of overflowing the stack', () => {
    const started = Date.now();
    expect(importError(() => markdownToContent('>'.repeat(1_000_000))).message).toMatch(/too deeply/);
    expect(importError(() => markdownToContent(`${'- '.repeat(500_000)}x`)).message).toMatch(/too deeply/);
    expect(importError(() => markdownToTemplate(`a\n${'\t'.repeat(100_000)}* x`)).message).toMatch(/too deeply \(line 2\)/);
    expect(importError(() => markdownToContent(`a\r\nb\rc\n${'>'.repeat(1_000_000)}`)).message).toMatch(/too deeply \(line 4\)/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not mistake a long thematic break or deeply indented code for nesting', () => {
    expect(blocks('* '.repeat(300))).toEqual([{ type: 'divider' }]);
    expect(blocks(`\`\`\`\n${' '.repeat(400)}x\n\`\`\``)).toEqual([{ type: 'codeBlock', text: `${' '.repeat(400)}x` }]);
  });

  it('rejects input over 5 MiB, counting UTF-8 bytes', () => {
    expect(MARKDOWN_LIMITS.maxInputBytes).toBe(5 * 1024 * 1024);
    expect(importError(() => markdownToContent('a'.repeat(MARKDOWN_LIMITS.maxInputBytes + 1))).message).toBe(
      'Markdown input is 5242881 bytes; at most 5242880 bytes (5 MiB) can be imported',
    );
    // 2 bytes per character: under the limit in characters, over it in bytes.
    expect(() => markdownToTemplate('é'.repeat(MARKDOWN_LIMITS.maxInputBytes / 2 + 1))).toThrow(/5242882 bytes/);
  });

  it('rejects non-string input with a clear message', () => {
    expect(importError(() => markdownToContent(undefined as unknown as string)).message).toBe('Markdown input must be a string');
  });

  it('turns content schema failures into a readable MarkdownImportError', () => {
    const error = importError(() => markdownToContent(`# ok\n\n\`\`\`\n${'x'.repeat(CONTENT_LIMITS.maxTextLength + 1)}\n\`\`\``));
    expect(error.message).toMatch(/^imported Markdown does not fit the content model: .*100000.* \(at content\.blocks\[1\]\.text\)$/);
    expect(importError(() => markdownToContent(`\`\`\`${'l'.repeat(65)}\nx\n\`\`\``)).message).toMatch(/at content\.blocks\[0\]\.language/);
  });
});

describe('markdownToContent output always passes DocumentContent', () => {
  const pieces = [
    '# ', '## ', '> ', '- ', '* ', '1. ', '3) ', '- [ ] ', '- [x] ', '  ', '    ', '\n', '\n\n', '\t',
    '*', '**', '_', '~~', '`', '```', '~~~', '[', ']', '(', ')', '!', '<', '>', '|', '|---|', ':', '\\',
    '{{', '}}', '{{a}}', '{{b?:date}}', '[^1]', '[^1]: ', '<!-- pagebreak -->', '\\pagebreak', '---', '***',
    'https://x.test', 'www.x.test', 'a@b.test', '&amp;', '<div>', '</div>', 'word', 'é', '☃', ' ',
  ];
  const markdown = fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((parts) => parts.join(''));

  it('for arbitrary Markdown-ish input', () => {
    fc.assert(
      fc.property(markdown, (source) => {
        let content;
        try {
          content = markdownToContent(source);
        } catch (error) {
          // Too deep nesting is a legitimate rejection; anything else is a bug.
          expect(error).toBeInstanceOf(MarkdownImportError);
          return;
        }
        expect(DocumentContent.safeParse(content).success).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('for the same input imported as a template, unless a parameter is malformed', () => {
    fc.assert(
      fc.property(markdown, (source) => {
        try {
          const { content, parameters } = markdownToTemplate(source);
          expect(TemplateContent.safeParse(content).success).toBe(true);
          expect(new Set(parameters.map((d) => d.name)).size).toBe(parameters.length);
        } catch (error) {
          expect(error).toBeInstanceOf(MarkdownImportError);
        }
      }),
      { numRuns: 200 },
    );
  });
});
