/**
 * One PostgreSQL for a whole run (the tests, a bench): the server in
 * DATABASE_URL, or an embedded one in a fresh temporary folder that is
 * removed when it stops.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDatabase } from '../lib/db.js';
import { startEmbeddedPostgres } from '../local/postgres.js';

export interface RunPostgres {
  /** URL of the `postgres` maintenance database. */
  adminUrl: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export async function runPostgres(port: number, env: NodeJS.ProcessEnv = process.env): Promise<RunPostgres> {
  if (env.DATABASE_URL) return { adminUrl: withDatabase(env.DATABASE_URL, 'postgres'), embedded: false, stop: async () => {} };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-pg-'));
  // The server runs as the unprivileged `postgres` user, which must reach its data folder.
  chmodSync(tmp, 0o755);
  try {
    const server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), port, persistent: false });
    return {
      adminUrl: server.adminUrl,
      embedded: true,
      async stop() {
        await server.stop();
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
