/**
 * Starts the whole stack as a user does (`npm start` as a child process), on
 * free ports and a fresh data folder, and stops it with Ctrl-C (SIGINT).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningStack {
  gatewayUrl: string;
  brokerUrl: string;
  consoleUrl: string;
  databaseUrl: string;
  adminToken: string;
  dataDir: string;
  /** Milliseconds from spawning `npm start` (or the command given) to its ready line. */
  readyMs: number;
  output: () => string;
  processes: { name: string; pid: number; port: number }[];
  child: ChildProcess;
  /** Ctrl-C, then wait for exit; resolves with npm's exit code (null when npm itself ended by the signal). */
  stop(): Promise<number | null>;
}

export interface StackProcessOptions {
  keepData?: boolean;
  /**
   * What to run instead of `npm start` (e.g. the built `dist/local.js` on
   * another Node, whose function processes then run on it too); run from the
   * project folder, with the same environment.
   */
  command?: { file: string; args: string[] };
}

export async function startStackProcess(
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  { keepData = false, command = { file: 'npm', args: ['start', '--silent'] } }: StackProcessOptions = {},
): Promise<RunningStack> {
  const dataDir = env.ORDERSAGA_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'ordersaga-stack-'));
  // PostgreSQL runs as its own user, which must reach the data folder.
  chmodSync(dataDir, 0o755);
  const spawnedAt = Date.now();
  const adminToken = `admin-${randomBytes(12).toString('hex')}`;
  const child = spawn(command.file, command.args, {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      GATEWAY_PORT: '0',
      BROKER_PORT: '0',
      CONSOLE_PORT: '0',
      FUNCTIONS_PORT: '0',
      POSTGRES_PORT: '0',
      ORDERSAGA_DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let readyMs = 0;
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // 'close', not 'exit': the stand-in's last lines may still be in the pipe when npm exits.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Leave nothing behind: Ctrl-C unwinds what started, SIGKILL makes sure.
      killGroup('SIGINT');
      setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
      reject(new Error(`stack not ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      if (/ready in \d+ ms/.test(output)) {
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
      reject(new Error(`stack exited with ${code} before it was ready:\n${output}`));
    });
  });
  const state = JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as {
    gatewayUrl: string;
    brokerUrl: string;
    consoleUrl: string;
    databaseUrl: string;
    processes: { name: string; pid: number; port: number }[];
  };
  return {
    ...state,
    adminToken,
    dataDir,
    readyMs,
    output: () => output,
    child,
    async stop() {
      // Ctrl-C reaches the whole foreground group: npm, the shell and the stand-in.
      if (child.exitCode === null) killGroup('SIGINT');
      const code = await exited;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      return code;
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
