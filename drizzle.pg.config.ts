import { defineConfig } from 'drizzle-kit';

// The PostgreSQL schema's migrations (npm run db:generate:pg); drizzle.config.ts is SQLite's.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./db/pg/schema.ts', './db/pg/coordination.ts'],
  out: './migrations-pg',
});
