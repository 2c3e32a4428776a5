/**
 * The migrations: every file is listed in migrations/index.ts, and the whole
 * chain goes up, down (every `down`, newest first) and up again on a real
 * PostgreSQL, leaving nothing behind when rolled back.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.js';
import { migrateDownAll, migrateLatest, migrations } from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const TABLES = [
  'accounts', 'balances', 'ledger', 'slots', 'reservations', 'orders', 'notifications',
  'inbox', 'outbox', 'idempotency_keys', 'dead_letters', 'payments', 'slot_rejections',
];

async function tablesOf(t: TestDatabase): Promise<string[]> {
  const rows = await t.db('information_schema.tables').where({ table_schema: 'public' }).pluck('table_name');
  return rows.filter((name: string) => !name.startsWith('knex_')).sort();
}

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(2, { empty: true });
  });
  afterAll(async () => {
    await t.destroy();
  });

  it('lists every migration file in migrations/index.ts, in order', () => {
    const files = readdirSync(here)
      .filter((f) => /^\d{14}_.+\.ts$/.test(f))
      .map((f) => f.slice(0, -'.ts'.length))
      .sort();
    expect(Object.keys(migrations)).toEqual(files);
    for (const m of Object.values(migrations)) {
      expect(typeof m.up).toBe('function');
      expect(typeof m.down).toBe('function');
    }
  });

  it('goes up to the newest schema, down to nothing, and up again', async () => {
    expect(await tablesOf(t)).toEqual([]);
    expect(await migrateLatest(t.db)).toEqual(Object.keys(migrations));
    expect(await tablesOf(t)).toEqual([...TABLES].sort());
    expect(await migrateLatest(t.db)).toEqual([]);

    await migrateDownAll(t.db);
    expect(await tablesOf(t)).toEqual([]);

    expect(await migrateLatest(t.db)).toEqual(Object.keys(migrations));
    expect(await tablesOf(t)).toEqual([...TABLES].sort());
    const orderColumns = await t.db('information_schema.columns').where({ table_name: 'orders' }).pluck('column_name');
    expect(orderColumns).toEqual(expect.arrayContaining(['status', 'reason', 'reconciled_at', 'reconcile_attempts']));
  });
});
