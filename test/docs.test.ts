import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERRORS, type ErrorName } from '../server/contract/errors.js';

const API_MD = resolve(import.meta.dirname, '../docs/api.md');
const START = '<!-- catalog:start -->';
const END = '<!-- catalog:end -->';

/** The catalog section of docs/api.md, as the error catalog says it must read. */
function catalogSection(): string {
  const rows = (Object.keys(ERRORS) as ErrorName[]).map((name) => {
    const { errorCode, description } = ERRORS[name];
    return `| \`${name}\` | ${errorCode} | ${ERROR_CODES[errorCode].http} | ${description} |`;
  });
  return [
    START,
    '<!-- Generated from server/contract/errors.ts: UPDATE_DOCS=1 npx vitest run test/docs.test.ts -->',
    '| errorName | errorCode | HTTP | errorDescription |',
    '|---|---|---|---|',
    ...rows,
    END,
  ].join('\n');
}

describe('docs/api.md', () => {
  it('lists every error of the catalog with its code, status and description (generated section)', () => {
    let text = readFileSync(API_MD, 'utf8');
    const from = text.indexOf(START);
    const to = text.indexOf(END);
    expect(from, `docs/api.md needs a ${START} … ${END} section`).toBeGreaterThanOrEqual(0);
    const current = text.slice(from, to + END.length);
    if (process.env.UPDATE_DOCS === '1' && current !== catalogSection()) {
      text = text.slice(0, from) + catalogSection() + text.slice(to + END.length);
      writeFileSync(API_MD, text);
      return;
    }
    expect(current).toBe(catalogSection());
  });

  it('states the HTTP status of every errorCode in its conventions table', () => {
    const text = readFileSync(API_MD, 'utf8');
    for (const [code, { http }] of Object.entries(ERROR_CODES)) {
      expect(text, code).toMatch(new RegExp(`\\|[^|\\n]*\\b${code}\\b[^|\\n]*\\| ${http}\\b`));
    }
  });
});
