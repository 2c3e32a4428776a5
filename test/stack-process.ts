/**
 * Starts the whole stack as a user does (`npm start` as a child process), on
 * free ports and a fresh data folder, and stops it with Ctrl-C (SIGINT to
 * its process group, as a terminal does) or kills it outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runningServerPid } from '../local/postgres.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningStack {
  gatewayUrl: string;
  brokerUrl: string;
  databaseUrl: string;
  consoleUrl: string;
  /** The stand-in's own trace receiver, when it runs one (no OTLP endpoint given, tracing on). */
  tracesUrl: string | undefined;
  adminToken: string;
  dataDir: string;
  /** Milliseconds from spawning `npm start` (or the command given) to its ready line. */
  readyMs: number;
  output: () => string;
  /** The stand-in's log records so far (LOG_FORMAT=json, the default here), one per line of output. */
  records(): Record<string, unknown>[];
  processes: { name: string; pid: number; port: number }[];
  child: ChildProcess;
  /** The stand-in's own pid (npm runs it under a shell). */
  pid: number;
  /** The embedded PostgreSQL's postmaster, while one runs on the data folder. */
  postgresPid(): number | undefined;
  /** Resolves with npm's exit code once it has exited (null when npm itself ended by a signal). */
  exited: Promise<number | null>;
  /** Ctrl-C, then wait for exit; resolves with npm's exit code. Deletes the data folder unless kept. */
  stop(): Promise<number | null>;
  /** SIGKILL to the whole process group (npm, the shell, the stand-in), then wait for exit; keeps the data folder. */
  kill(): Promise<void>;
}

/** A data folder for a stack; the embedded PostgreSQL's user must reach it. */
export function stackDataDir(): string {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-stack-'));
  chmodSync(dataDir, 0o755);
  return dataDir;
}

interface Started {
  child: ChildProcess;
  dataDir: string;
  adminToken: string;
  output: () => string;
  exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
}

/** What to run instead of `npm start`, run from the project folder with the same environment. */
export interface StartCommand {
  file: string;
  args: string[];
}

const NPM_START: StartCommand = { file: 'npm', args: ['start', '--silent'] };

/** Spawns `npm start` in a process group of its own, with free ports unless `env` names some. */
function spawnStart(env: Record<string, string>, command: StartCommand = NPM_START): Started {
  const dataDir = env.ORDERSAGA_DATA_DIR ?? stackDataDir();
  chmodSync(dataDir, 0o755);
  const adminToken = env.ADMIN_TOKEN ?? `admin-${randomBytes(12).toString('hex')}`;
  const child = spawn(command.file, command.args, {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      GATEWAY_PORT: '0',
      BROKER_PORT: '0',
      FUNCTIONS_PORT: '0',
      POSTGRES_PORT: '0',
      CONSOLE_PORT: '0',
      OTLP_PORT: '0',
      LOG_FORMAT: 'json',
      ...env,
      ORDERSAGA_DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // 'close', not 'exit': the stand-in's last lines may still be in the pipe when npm exits.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  return { child, dataDir, adminToken, output: () => output, exited, signal };
}

/** Runs an `npm start` that is expected to end by itself (refused, failed): its exit code and output. */
export async function runStartToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string; ms: number }> {
  const spawnedAt = Date.now();
  const started = spawnStart(env);
  const timer = setTimeout(() => started.signal('SIGKILL'), timeoutMs);
  const code = await started.exited;
  clearTimeout(timer);
  return { code, output: started.output(), ms: Date.now() - spawnedAt };
}

export interface StackProcessOptions {
  keepData?: boolean;
  /** What to run instead of `npm start` (e.g. the built `dist/local.js` on another Node, whose function processes then run on it too). */
  command?: StartCommand;
}

export async function startStackProcess(
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  { keepData = false, command }: StackProcessOptions = {},
): Promise<RunningStack> {
  const spawnedAt = Date.now();
  const { child, dataDir, adminToken, output, exited, signal } = spawnStart(env, command);
  let readyMs = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Leave nothing behind: Ctrl-C unwinds what started, SIGKILL makes sure.
      signal('SIGINT');
      setTimeout(() => signal('SIGKILL'), 10_000).unref();
      reject(new Error(`stack not ready in ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const check = () => {
      if (/ready in \d+ ms/.test(output())) {
        readyMs = Date.now() - spawnedAt;
        clearTimeout(timer);
        // Scanning the ever-growing output on every chunk would cost more each time.
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`stack exited with ${code} before it was ready:\n${output()}`));
    });
  });
  const state = JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as {
    pid: number;
    gatewayUrl: string;
    brokerUrl: string;
    consoleUrl: string;
    tracesUrl?: string;
    databaseUrl: string;
    processes: { name: string; pid: number; port: number }[];
  };
  return {
    gatewayUrl: state.gatewayUrl,
    brokerUrl: state.brokerUrl,
    consoleUrl: state.consoleUrl,
    tracesUrl: state.tracesUrl,
    databaseUrl: state.databaseUrl,
    processes: state.processes,
    pid: state.pid,
    adminToken,
    dataDir,
    readyMs,
    output,
    records: () =>
      output()
        .split('\n')
        .flatMap((line) => {
          if (!line.startsWith('{')) return [];
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return []; // the line still arriving
          }
        }),
    child,
    exited,
    postgresPid: () => runningServerPid(path.join(dataDir, 'postgres')),
    async stop() {
      // Ctrl-C reaches the whole foreground group: npm, the shell and the stand-in.
      if (child.exitCode === null) signal('SIGINT');
      const code = await exited;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      signal('SIGKILL');
      await exited;
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
