/** The one way to open the database: knex over pg, with bigint read as number. */
import knexModule, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../migrations/index.js';

// Money is integer minor units capped far below 2^53 by the schemas, so int8
// columns are safe to read as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

const knex = ((knexModule as unknown as { default?: typeof knexModule }).default ?? knexModule) as typeof knexModule;

export type Db = Knex;
export type Trx = Knex.Transaction;

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Name reported to PostgreSQL (pg_stat_activity.application_name). */
  applicationName?: string;
}

export function createDb({ url, poolMax = 5, applicationName = 'ordersaga' }: DbOptions): Db {
  return knex({
    client: 'pg',
    connection: { connectionString: url, application_name: applicationName, connectionTimeoutMillis: 5000 },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
  });
}

/** Brings the schema to the newest migration. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

/** Rolls every migration back (each `down`, newest first). */
export async function migrateDownAll(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}

/** The same server's URL, naming database `name` instead. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
