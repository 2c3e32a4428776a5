import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.js';

describe('test database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.destroy());

  it('is migrated', async () => {
    const tables = await t.db('pg_tables').where({ schemaname: 'public' }).pluck('tablename');
    expect(tables).toEqual(expect.arrayContaining(['accounts', 'ledger', 'slots', 'orders', 'inbox', 'outbox']));
  });
});
