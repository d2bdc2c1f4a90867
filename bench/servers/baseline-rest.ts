/**
 * Baseline for REST create: the same SQL work as exportJobs.create (token by sha256 joined
 * with its user, grant lookup, document lookup, insert) as raw better-sqlite3 prepared
 * statements behind a bare Fastify route. No zod, no tRPC caller, no error catalog: the
 * floor the service's create path is compared with.
 *
 * Env: NOTEPAD_DB (migrated by openDatabase). Listens on 127.0.0.1, port 0; prints {"port": n}.
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { openDatabase } from '../../db/index.js';

const { sqlite } = openDatabase(process.env.NOTEPAD_DB ?? 'bench.db');
const principalByHash = sqlite.prepare<[string], { userId: string; canCreate: number; scopes: string; expiresAt: number | null; revokedAt: number | null }>(
  `SELECT u.id AS userId, u.can_create_export_jobs AS canCreate, t.scopes AS scopes, t.expires_at AS expiresAt, t.revoked_at AS revokedAt
     FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`,
);
const grantsOn = sqlite.prepare<[string, string], { action: string }>('SELECT action FROM permissions WHERE principal_id = ? AND resource_rid = ?');
const documentExists = sqlite.prepare<[string], { rid: string }>('SELECT rid FROM documents WHERE rid = ?');
const insertJob = sqlite.prepare(
  `INSERT INTO export_jobs (rid, creator_id, source_type, document_rid, generation_job_rid, template_rid, user_locale, user_timezone, status, created_at, expires_at)
   VALUES (?, ?, 'documentSource', ?, NULL, NULL, ?, ?, 'running', ?, ?)`,
);
const TTL_MS = 7 * 24 * 3_600_000;

interface Body {
  exportJobSource?: { documentRid?: string };
  exportJobTarget?: { userLocale?: string; userTimezone?: string };
}

const app = Fastify({ logger: false });
app.post('/api/v2/notepad/exportJobs/create', async (request, reply) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  const principal = token ? principalByHash.get(createHash('sha256').update(token).digest('hex')) : undefined;
  const now = Date.now();
  if (!principal || principal.revokedAt !== null || (principal.expiresAt !== null && principal.expiresAt <= now)) {
    return reply.status(401).send({ errorCode: 'UNAUTHORIZED' });
  }
  if (!principal.scopes.includes('api:notepad-export') || !principal.canCreate) return reply.status(403).send({ errorCode: 'PERMISSION_DENIED' });
  const { exportJobSource, exportJobTarget } = request.body as Body;
  const documentRid = exportJobSource?.documentRid ?? '';
  const actions = grantsOn.all(principal.userId, documentRid).map((row) => row.action);
  if (actions.length === 0 || !documentExists.get(documentRid)) return reply.status(404).send({ errorCode: 'NOT_FOUND' });
  if (!actions.includes('export')) return reply.status(403).send({ errorCode: 'PERMISSION_DENIED' });
  const rid = `ri.notepad.main.export-job.${randomUUID()}`;
  insertJob.run(rid, principal.userId, documentRid, exportJobTarget?.userLocale ?? 'en-US', exportJobTarget?.userTimezone ?? 'UTC', now, now + TTL_MS);
  return { rid, status: { type: 'running' } };
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
