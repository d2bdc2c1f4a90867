/**
 * Size and nesting limits of what the service accepts, in one place. They exist so that a
 * single request or stored document cannot make parsing, validation or rendering
 * pathological. This module imports nothing, so any part of the contract can use it.
 */

/** The content tree: block nesting depth, string length and array length. */
export const CONTENT_LIMITS = {
  maxDepth: 12,
  maxTextLength: 100_000,
  maxChildren: 100_000,
} as const;

/**
 * How deep the JSON of content may nest, checked before zod walks the (recursive) content
 * schema so that a hostile tree is refused without deep recursion. Each content level is at
 * most four JSON levels (block, items array, item, blocks array); the root object and the
 * deepest leaf (a table's rows, row, cell, inline array, inline, marks, mark) add a few
 * more, and 8 covers them: test/contract-rules.test.ts builds the deepest legal content.
 */
export const MAX_CONTENT_JSON_DEPTH = CONTENT_LIMITS.maxDepth * 4 + 8;

/**
 * How deep a request body's JSON may nest, checked on the raw text before parsing (REST).
 * It bounds the content limit too: a request body that carries content must be allowed to
 * nest as deep as the content may, plus its own envelope around it (an input object, the
 * official bindings' `request` wrapper), for which 8 levels are left. No legitimate request
 * nests deeper.
 */
export const MAX_JSON_DEPTH = MAX_CONTENT_JSON_DEPTH + 8;

/**
 * The highest template version either database can hold (a 32-bit integer column). A
 * request may name a higher one, up to the largest integer a JSON number keeps exactly: it
 * exists nowhere, so it is the contract's InvalidGenerationJobTemplateVersion, never a
 * query the database would refuse.
 */
export const MAX_STORED_TEMPLATE_VERSION = 2 ** 31 - 1;
