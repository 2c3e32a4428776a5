/** The database for migrations, tests and admin tools: knex over pg, with bigint read as number. */
import knexModule, { type Knex } from 'knex';

// Read int8 as number, as the functions do (lib/pg.ts).
import './pg.js';

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

/** The same server's URL, naming database `name` instead. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
