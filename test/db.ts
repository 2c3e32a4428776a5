/** A database of its own for each test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDb, withDatabase, type Db } from '../lib/db.js';
import { createSql, type Sql } from '../lib/pg.js';

export interface TestDatabase {
  db: Db;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  destroy(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database, migrated (a clone of the template) unless `empty`. */
export async function createTestDatabase(poolMax = 10, { empty = false }: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `ordersaga_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template ${empty ? 'template0' : inject('pgTemplate')}`));
  const url = withDatabase(inject('pgAdminUrl'), name);
  const db = createDb({ url, poolMax });
  return {
    db,
    url,
    name,
    async destroy() {
      await db.destroy();
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

export interface DatabaseUnderTest extends TestDatabase {
  /** A pool of lib/pg on the database, as the functions use. */
  sql: Sql;
}

/**
 * A fresh database for the tests of the enclosing describe (or file): made
 * before them (then `setup` runs on it), dropped after them. Its members are
 * there once the tests run.
 */
export function useTestDatabase(options: { poolMax?: number; applicationName?: string; setup?: (db: Db) => Promise<unknown> } = {}): DatabaseUnderTest {
  const under = {} as DatabaseUnderTest;
  let t: TestDatabase | undefined;
  let sql: Sql | undefined;
  beforeAll(async () => {
    t = await createTestDatabase(options.poolMax);
    await options.setup?.(t.db);
    sql = createSql({ url: t.url, poolMax: options.poolMax ?? 10, applicationName: options.applicationName });
    Object.assign(under, t, { sql });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.destroy();
  });
  return under;
}
