import { SCOPES } from './contract/api.js';
import type { Content } from './contract/content.js';
import type { Deps } from './deps.js';
import * as admin from './services/admin.js';

const day = (iso: string) => Date.parse(iso);

/** The demo document: a bit of every block type, and dates and numbers that follow the export's locale. */
export const DEMO_CONTENT: Content = {
  blocks: [
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: 'Prepared on ' },
        { type: 'dateTime', timestamp: day('2026-10-01T09:30:00Z') },
        { type: 'text', text: '. Revenue for the quarter was ' },
        { type: 'number', value: 1234567.891, maximumFractionDigits: 2 },
        { type: 'text', text: ' units, ' },
        { type: 'text', text: 'up 12%', marks: [{ type: 'bold' }] },
        { type: 'text', text: ' on last quarter. See the ' },
        { type: 'text', text: 'methodology', marks: [{ type: 'link', href: 'https://example.com/methodology' }] },
        { type: 'text', text: ' for how it is measured.' },
      ],
    },
    { type: 'heading', level: 2, content: [{ type: 'text', text: 'Highlights' }] },
    {
      type: 'bulletList',
      items: [
        { content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Two new regions went live' }] }] },
        {
          content: [
            { type: 'paragraph', content: [{ type: 'text', text: 'Support backlog down to ' }, { type: 'number', value: 42 }] },
            {
              type: 'orderedList',
              items: [
                { content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Triage rota', marks: [{ type: 'italic' }] }] }] },
                { content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Self-service ' }, { type: 'text', text: 'reset', marks: [{ type: 'code' }] }] }] },
              ],
            },
          ],
        },
        { content: [{ type: 'paragraph', content: [{ type: 'objectReference', objectRid: 'ri.phonograph2-objects.main.object.7a1c', title: 'Site: Lyon warehouse' }] }] },
      ],
    },
    { type: 'heading', level: 2, content: [{ type: 'text', text: 'By region' }] },
    {
      type: 'table',
      header: [{ content: [{ type: 'text', text: 'Region' }] }, { content: [{ type: 'text', text: 'Revenue' }] }, { content: [{ type: 'text', text: 'Closed on' }] }],
      rows: [
        [{ content: [{ type: 'text', text: 'Europe' }] }, { content: [{ type: 'number', value: 512000.5 }] }, { content: [{ type: 'dateTime', timestamp: day('2026-09-30T17:00:00Z'), style: 'date' }] }],
        [{ content: [{ type: 'text', text: 'Asia — 日本' }] }, { content: [{ type: 'number', value: 398250 }] }, { content: [{ type: 'dateTime', timestamp: day('2026-09-29T08:00:00Z'), style: 'date' }] }],
        [{ content: [{ type: 'text', text: 'Ελλάδα / Россия' }] }, { content: [{ type: 'number', value: 324317.39 }] }, { content: [{ type: 'dateTime', timestamp: day('2026-09-28T12:00:00Z'), style: 'date' }] }],
      ],
    },
    { type: 'quote', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Measure what matters, then export it.' }] }] },
    { type: 'codeBlock', language: 'sql', text: 'SELECT region, sum(revenue)\n  FROM sales\n GROUP BY region;' },
    { type: 'divider' },
    { type: 'paragraph', content: [{ type: 'text', text: 'End of report.' }] },
  ],
};

export interface DemoSeed {
  userId: string;
  token: string;
  documentRid: string;
}

/**
 * What the printed demo token may do: use the API, never administer it, and only for a
 * day. It is written to the same stream as the logs, and anyone who can read those must
 * not be able to mint tokens; an admin token is made on purpose, with the CLI.
 */
export const DEMO_TOKEN_SCOPES = [SCOPES.export, SCOPES.write] as const;
export const DEMO_TOKEN_LIFETIME_MS = 24 * 3_600_000;

/** On an empty database: a demo user with a token, and a sample document they can export. */
export async function seedDemoIfEmpty(deps: Deps): Promise<DemoSeed | undefined> {
  // A read first: a database with users (every start but the first) takes no write lock.
  if (await deps.stores.directory.hasUsers()) return undefined;
  // The claim: of processes starting together on an empty database, one makes the demo user
  // (and seeds); the others find a user and leave it.
  const first = await admin.createFirstUser(deps, { name: 'Demo User' });
  if (!first) return undefined;
  const { userId } = first;
  const { token } = await admin.createToken(deps, { userId, scopes: DEMO_TOKEN_SCOPES, expiresInMs: DEMO_TOKEN_LIFETIME_MS });
  const { documentRid } = await admin.createDocument(deps, { title: 'Quarterly operations review', content: DEMO_CONTENT, ownerId: userId });
  return { userId, token, documentRid };
}
