/**
 * The embedded PostgreSQL, supervised: a server killed outright is restarted
 * on its data folder (committed data survives crash recovery), one that
 * keeps crashing or cannot start again is given up on, and a stopped one
 * stays stopped.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../lib/log.js';
import { isAlive } from '../test/stack-process.js';
import { freePort } from './ports.js';
import { runningServerPid, startEmbeddedPostgres, type EmbeddedServer } from './postgres.js';
import { supervisePostgres } from './supervisor.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-pg-supervision-'));
// The server runs as the unprivileged `postgres` user when this runs as root.
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A logger that keeps each record's message and fields. */
function recordingLogger(): Logger & { records: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const records: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void records.push({ level, message, fields });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

async function query<T>(server: EmbeddedServer, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.adminUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

let n = 0;
async function supervised(options: { startAttempts?: number } = {}) {
  const dataDir = path.join(root, `data-${++n}`);
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false, logFile: path.join(root, `postgres-${n}.log`) });
  const log = recordingLogger();
  const gaveUp: string[] = [];
  supervisePostgres(server, { log, onGiveUp: (reason) => gaveUp.push(reason), ...options });
  servers.push(server);
  return { server, log, gaveUp };
}

/** SIGKILL of the postmaster; resolves with its pid once the server is down or back. */
async function crash(server: EmbeddedServer): Promise<number> {
  const pid = server.pid!;
  process.kill(pid, 'SIGKILL');
  await until(`pid ${pid} to end`, () => !isAlive(pid) && server.pid !== pid);
  return pid;
}

const servers: EmbeddedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('the supervised embedded PostgreSQL', () => {
  it.runIf(existsSync('/proc/self/stat'))('runs in a process group of its own, so a Ctrl-C to the stand-in does not reach it', async () => {
    const { server } = await supervised();
    const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
    const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(processGroup).toBe(server.pid);
    expect(processGroup).not.toBe(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[2]));
  });

  it('restarts a server killed with SIGKILL on the same data folder: logged, and committed data survives crash recovery', async () => {
    const { server, log, gaveUp } = await supervised();
    await query(server, 'create table kept (id int primary key); insert into kept values (1), (2)');
    const killed = await crash(server);
    await until('the server to be back', () => server.pid !== undefined);
    expect(server.pid).not.toBe(killed);
    expect(runningServerPid(server.dataDir)).toBe(server.pid);
    expect(await query<{ id: number }>(server, 'select id from kept order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(log.records).toEqual([
      { level: 'error', message: 'PostgreSQL exited unexpectedly; restarting it (crash recovery)', fields: expect.objectContaining({ postgresPid: killed, signal: 'SIGKILL', crash: 1 }) },
      { level: 'info', message: 'PostgreSQL is back', fields: expect.objectContaining({ postgresPid: server.pid }) },
    ]);
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/not properly shut down; automatic recovery in progress/);
    expect(gaveUp).toEqual([]);
  });

  it('gives up at the third crash in a row, with the end of its log, and starts it no more', async () => {
    const { server, gaveUp } = await supervised();
    for (let i = 0; i < 2; i++) {
      await crash(server);
      await until('the server to be back', () => server.pid !== undefined);
    }
    const last = await crash(server);
    await until('the supervision to give up', () => gaveUp.length > 0);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatch(new RegExp(`^PostgreSQL \\(pid ${last}\\) exited unexpectedly \\(code null, signal SIGKILL\\): 3 crashes in a row`));
    expect(gaveUp[0]).toContain(`the end of ${server.logFile}:`);
    await delay(500);
    expect(server.pid).toBeUndefined();
    expect(runningServerPid(server.dataDir)).toBeUndefined();
  });

  it('gives up when the server cannot start again (its port taken meanwhile), after its attempts', async () => {
    const { server, log, gaveUp } = await supervised({ startAttempts: 2 });
    const squatter = net.createServer();
    const pid = server.pid!;
    process.kill(pid, 'SIGKILL');
    // Another program takes the port the moment it is free.
    await until('the port to be free', () => !isAlive(pid));
    await new Promise<void>((resolve, reject) => {
      const grab = () => {
        squatter.once('error', () => setTimeout(grab, 5));
        squatter.listen(server.port, '127.0.0.1', () => resolve());
      };
      grab();
      setTimeout(() => reject(new Error('could not take the port')), 10_000).unref();
    });
    try {
      await until('the supervision to give up', () => gaveUp.length > 0);
      expect(gaveUp[0]).toMatch(/exited unexpectedly \(code null, signal SIGKILL\), and 2 starts after it failed/);
      expect(log.records.filter((r) => r.message === 'PostgreSQL did not start; trying again')).toHaveLength(2);
      expect(server.pid).toBeUndefined();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('leaves a stopped server stopped, and refuses to start it again', async () => {
    const { server, log } = await supervised();
    const pid = server.pid!;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    await delay(300);
    expect(server.pid).toBeUndefined();
    expect(log.records).toEqual([]);
    await expect(server.start()).rejects.toThrow(/stopped for good/);
  });
});
