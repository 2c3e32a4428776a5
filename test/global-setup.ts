/**
 * Starts one PostgreSQL for the whole test run (embedded by default, or the
 * server in DATABASE_URL) and prepares a migrated template database; each
 * test file then gets its own database cloned from it (test/db.ts).
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, withDatabase } from '../lib/db.js';
import { migrateLatest } from '../migrations/index.js';
import { freePort } from '../local/ports.js';
import { runPostgres } from './postgres.js';

export const TEMPLATE_DB = 'ordersaga_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await runPostgres(await freePort());
  const { adminUrl } = postgres;
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
  return () => postgres.stop();
}
