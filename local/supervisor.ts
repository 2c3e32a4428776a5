/**
 * Runs each Knative Service as its own Functions Framework process and
 * replaces a process that dies, as Knative replaces a failed pod, with a
 * growing pause between restarts of one that keeps dying. The embedded
 * PostgreSQL is watched the same way (`supervisePostgres`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../lib/log.js';
import { tailOf, type EmbeddedServer } from './postgres.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  logFile: string;
}

export interface ProcessState {
  name: string;
  pid: number | undefined;
  port: number;
  restarts: number;
}

export interface Supervisor {
  /** Starts every process and resolves once each answers its health check. */
  start(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; no restarts after this. */
  stop(graceMs?: number): Promise<void>;
  state(): ProcessState[];
  /** Resolves when `name` answers its health check again (after a restart). */
  waitReady(name: string, timeoutMs?: number): Promise<void>;
}

interface Running {
  spec: ProcessSpec;
  child?: ChildProcess;
  restarts: number;
  startedAt: number;
  log: WriteStream;
  /** Whether it has ever answered its health check. */
  wasReady: boolean;
}

/** A process did not come up; the message says which and why. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** A process that ran this long before dying starts its backoff (and its count of crashes in a row) over. */
const HEALTHY_AFTER_MS = 30_000;

/** The pause before restart number `n` (from 1) of one process: 100 ms, doubling, at most 5 s. */
const backoffMs = (n: number) => Math.min(100 * 2 ** (n - 1), 5000);

/**
 * A process that dies this many times before it was ever ready will not
 * come up (a bad setting, a missing module): the start gives up at once
 * and shows why, instead of waiting out its timeout.
 */
const EXITS_BEFORE_READY = 3;

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

export function createSupervisor(specs: ProcessSpec[], log: Logger): Supervisor {
  const running = new Map<string, Running>();
  let stopping = false;

  function launch(r: Running): void {
    r.startedAt = Date.now();
    // stdin stays open as a lifeline: the child exits when this process dies (see child-guard).
    // Its own process group keeps a terminal's Ctrl-C from reaching it: the
    // Functions Framework would exit at once, failing the requests in flight,
    // while the stand-in stops functions only after draining the Broker.
    const child = spawn(r.spec.command, r.spec.args, { env: r.spec.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    r.child = child;
    child.stdout?.pipe(r.log, { end: false });
    child.stderr?.pipe(r.log, { end: false });
    child.on('exit', (code, signal) => {
      r.child = undefined;
      if (stopping) return;
      // A process that ran a while before dying starts its backoff over.
      if (Date.now() - r.startedAt > HEALTHY_AFTER_MS) r.restarts = 0;
      r.restarts += 1;
      const pause = backoffMs(r.restarts);
      log.warn('function exited; restarting', { service: r.spec.name, code, signal, restart: r.restarts, inMs: pause, log: r.spec.logFile });
      setTimeout(() => {
        if (!stopping) launch(r);
      }, pause).unref();
    });
  }

  async function waitReady(name: string, timeoutMs = 20_000): Promise<void> {
    const r = running.get(name);
    if (!r) throw new Error(`no process ${name}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await healthy(r.spec.port)) {
        r.wasReady = true;
        return;
      }
      if (!r.wasReady && r.restarts >= EXITS_BEFORE_READY) {
        throw new NotReadyError(`${name} exited ${r.restarts} times before it was ready; the end of ${r.spec.logFile}:\n${tailOf(r.spec.logFile)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new NotReadyError(`${name} did not become healthy within ${timeoutMs} ms; see ${r.spec.logFile}`);
  }

  return {
    async start(timeoutMs = 20_000) {
      for (const spec of specs) {
        const r: Running = { spec, restarts: 0, startedAt: 0, log: createWriteStream(spec.logFile, { flags: 'a' }), wasReady: false };
        running.set(spec.name, r);
        launch(r);
      }
      await Promise.all(specs.map((s) => waitReady(s.name, timeoutMs)));
    },
    async stop(graceMs = 5000) {
      stopping = true;
      const stopOne = async ({ child, log }: Running) => {
        if (child && child.exitCode === null && child.signalCode === null) {
          const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
          // 'close', not 'exit': its output may still be arriving after it exits.
          const closed = once(child, 'close');
          child.kill('SIGTERM');
          await closed;
          clearTimeout(kill);
        }
        log.end();
      };
      await Promise.all([...running.values()].map(stopOne));
    },
    state: () =>
      [...running.values()].map((r) => ({ name: r.spec.name, pid: r.child?.pid, port: r.spec.port, restarts: r.restarts })),
    waitReady,
  };
}

/** Crashes of PostgreSQL in a row (each within HEALTHY_AFTER_MS of its restart) that end the supervision. */
const CRASHES_BEFORE_GIVING_UP = 3;

export interface PostgresSupervisionOptions {
  log: Logger;
  /** The server cannot be kept up; `reason` says why. Called once, and then nothing is restarted. */
  onGiveUp(reason: string): void;
  /** Failed starts after one crash (orphaned backends may hold the old shared memory a moment) before giving up. */
  startAttempts?: number;
}

/**
 * Restarts the embedded PostgreSQL when it exits unasked (kill -9, the OOM
 * killer), on the same data folder, so PostgreSQL's crash recovery runs.
 * Meanwhile the functions answer 503 (transient) and the Broker retries; their
 * pools reconnect by themselves. A server that keeps crashing is given up on.
 */
export function supervisePostgres(server: EmbeddedServer, options: PostgresSupervisionOptions): void {
  const { log } = options;
  const attempts = options.startAttempts ?? 6;
  let inARow = 0;
  let gaveUp = false;
  const giveUp = (reason: string) => {
    if (gaveUp || server.stopped) return;
    gaveUp = true;
    options.onGiveUp(`${reason}; the end of ${server.logFile}:\n${tailOf(server.logFile)}`);
  };
  server.onCrash((exit) => {
    if (gaveUp || server.stopped) return;
    if (exit.upMs > HEALTHY_AFTER_MS) inARow = 0;
    inARow += 1;
    const crashed = `PostgreSQL (pid ${exit.pid}) exited unexpectedly (code ${exit.code}, signal ${exit.signal})`;
    if (inARow >= CRASHES_BEFORE_GIVING_UP) {
      giveUp(`${crashed}: ${inARow} crashes in a row, each within ${HEALTHY_AFTER_MS / 1000} s of its restart`);
      return;
    }
    log.error('PostgreSQL exited unexpectedly; restarting it (crash recovery)', { postgresPid: exit.pid, code: exit.code, signal: exit.signal, crash: inARow, log: server.logFile });
    const down = Date.now();
    void (async () => {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
        if (gaveUp || server.stopped) return;
        try {
          await server.start();
          log.info('PostgreSQL is back', { postgresPid: server.pid, downMs: Date.now() - down });
          return;
        } catch (err) {
          if (server.stopped) return;
          log.warn('PostgreSQL did not start; trying again', { attempt, error: (err as Error).message.split('\n')[0] });
        }
      }
      giveUp(`${crashed}, and ${attempts} starts after it failed`);
    })();
  });
}
