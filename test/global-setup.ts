/**
 * Starts one PostgreSQL for the whole test run (embedded by default, or the
 * server in DATABASE_URL) and prepares a migrated template database; each
 * test file then gets its own database cloned from it (test/db.ts).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, withDatabase } from '../lib/db.js';
import { migrateLatest } from '../migrations/index.js';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../local/postgres.js';

export const TEMPLATE_DB = 'ordersaga_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: EmbeddedServer | undefined;
  let tmp: string | undefined;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = withDatabase(process.env.DATABASE_URL, 'postgres');
  } else {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-test-pg-'));
    // The server runs as the unprivileged `postgres` user, which must reach its data folder.
    chmodSync(tmp, 0o755);
    server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), port: await freePort(), persistent: false });
    adminUrl = server.adminUrl;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB}`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const db = createDb({ url: withDatabase(adminUrl, TEMPLATE_DB), poolMax: 1 });
  await migrateLatest(db);
  await db.destroy();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', TEMPLATE_DB);
  return async () => {
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
}
