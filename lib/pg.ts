/**
 * The functions' database: node-postgres directly, one pool per process,
 * every statement prepared once per connection. Each saga step is one call
 * of a server-side routine (inbox, effect and outbox in one statement), so
 * this is the whole of a delivery's database work; knex stays for
 * migrations, tests and admin tools.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PoolClient } from 'pg';

/**
 * node-postgres, loaded through `require`: OpenTelemetry's pg
 * instrumentation patches it there, with no ESM loader hook (a hook runs
 * on a thread of its own, about 16 MB more in every function process).
 */
export const pg = createRequire(import.meta.url)('pg') as typeof import('pg');

// Money is integer minor units capped far below 2^53 by the schemas, so int8
// columns are safe to read as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface SqlOptions {
  url: string;
  poolMax?: number;
  /** Name reported to PostgreSQL (pg_stat_activity.application_name). */
  applicationName?: string;
}

/** Runs prepared statements. */
export interface Queries {
  /** The rows of `text` with `values` bound to `$1, $2, …`. */
  query<T = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<T | undefined>;
}

/** A pool of connections. */
export interface Sql extends Queries {
  /** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queries) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on one connection, each statement a transaction of its own.
   * If `work` throws, the connection is closed rather than pooled, so a
   * session-level lock it took cannot outlive the failure.
   */
  session<T>(work: (session: Queries) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

type Runner = { query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }> };

function queriesOf(runner: Runner): Queries {
  const query = async <T>(text: string, values: readonly unknown[] = []) =>
    (await runner.query({ name: statementName(text), text, values: values as unknown[] })).rows as T[];
  return { query, one: async <T>(text: string, values?: readonly unknown[]) => (await query<T>(text, values))[0] };
}

// One name per statement text: the server plans it once per connection.
const names = new Map<string, string>();
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `s${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

export function createSql({ url, poolMax = 5, applicationName = 'ordersaga' }: SqlOptions): Sql {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: applicationName,
    max: poolMax,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // A connection that breaks (the server restarted) reports it as an
  // 'error' event, which unheard would end the process: while idle the pool
  // hears it and drops the connection; while checked out, or while the pool
  // is closing it, the query under way fails instead (a transient fault,
  // answered 503), and this listener keeps the event from ending the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  /** `work` on a checked-out connection; `drop` closes it when it is released, rather than pooling it. */
  async function onConnection<T>(work: (client: PoolClient, drop: () => void) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    // The pool listens to idle connections only: one that breaks between
    // this connection's statements (the server restarted) must fail the
    // next statement, not end the process with an unheard error.
    const drop = () => {
      broken = true;
    };
    client.on('error', drop);
    try {
      return await work(client, drop);
    } finally {
      client.off('error', drop);
      client.release(broken);
    }
  }
  return {
    ...queriesOf(pool),
    transaction: (work) =>
      onConnection(async (client, drop) => {
        await client.query('begin');
        try {
          const result = await work(queriesOf(client));
          await client.query('commit');
          return result;
        } catch (err) {
          // A connection that cannot even roll back is broken: the pool drops it.
          await client.query('rollback').catch(drop);
          throw err;
        }
      }),
    session: (work) =>
      onConnection((client, drop) =>
        work(queriesOf(client)).catch((err: unknown) => {
          drop();
          throw err;
        }),
      ),
    end: () => pool.end(),
  };
}
