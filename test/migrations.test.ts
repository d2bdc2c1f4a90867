import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, openDatabase } from '../db/index.js';

describe('migrations', () => {
  it('match the Drizzle schema: drizzle-kit generate has nothing to add', () => {
    const dir = mkdtempSync(join(tmpdir(), 'notepad-drift-'));
    try {
      const out = join(dir, 'migrations');
      cpSync(MIGRATIONS_FOLDER, out, { recursive: true });
      const config = join(dir, 'drizzle.config.mjs');
      // drizzle-kit reads `out` relative to the working directory.
      writeFileSync(config, `export default ${JSON.stringify({ dialect: 'sqlite', schema: 'db/schema.ts', out: relative(process.cwd(), out) })};\n`);
      const before = readdirSync(out).sort();
      const run = spawnSync(resolve('node_modules/.bin/drizzle-kit'), ['generate', '--config', config], { encoding: 'utf8' });
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status, output).toBe(0);
      expect(readdirSync(out).sort(), output).toEqual(before);
      expect(output).toMatch(/No schema changes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('apply to a new database in WAL mode, idempotently', () => {
    const dir = mkdtempSync(join(tmpdir(), 'notepad-migrate-'));
    try {
      const path = join(dir, 'fresh.db');
      const first = openDatabase(path);
      expect(first.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(Number(first.sqlite.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
      const tables = first.sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%'").all() as Array<{ name: string }>;
      expect(tables.map((t) => t.name).sort()).toEqual(
        ['documents', 'export_jobs', 'files', 'folders', 'generation_jobs', 'idempotency_keys', 'permissions', 'template_versions', 'templates', 'tokens', 'user_usage', 'users'].sort(),
      );
      first.close();
      openDatabase(path).close(); // a second open applies nothing and fails nothing
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
