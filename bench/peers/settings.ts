/** The peers' configuration, read once from the environment; a bad value stops the process at start. */
export interface PeerSettings {
  databaseUrl: string;
  /** DBOS's own system database. */
  systemDatabaseUrl: string | undefined;
  port: number;
  poolMax: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new Error(`${name} must be set`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new Error(`${name} must be an integer from 1 to 65535, not ${JSON.stringify(raw)}`);
  return n;
}

export function peerSettings(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL must be set');
  return {
    databaseUrl: env.DATABASE_URL,
    systemDatabaseUrl: env.DBOS_SYSTEM_DATABASE_URL || undefined,
    port: int(env, 'PORT'),
    // One connection per order in flight at the highest level, and some to spare.
    poolMax: int(env, 'PG_POOL_MAX', 40),
  };
}
