import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, AlreadyRunningError, LOCK_FILE, type LockHolder } from './lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lockFile = () => path.join(dir, LOCK_FILE);
const holderIn = () => JSON.parse(readFileSync(lockFile(), 'utf8')) as LockHolder;
const PORTS = { GATEWAY_PORT: 8080, BROKER_PORT: 8081 };

/** The pid of a process that has run and ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function refusal(work: () => unknown): AlreadyRunningError {
  try {
    work();
  } catch (err) {
    if (err instanceof AlreadyRunningError) return err;
    throw err;
  }
  throw new Error('the lock was not refused');
}

describe('the folder lock', () => {
  it('is held with this process, its ports and, once known, the API; released, the folder is free again', () => {
    const lock = acquireLock(dir, PORTS);
    expect(lock.tookOver).toBeUndefined();
    expect(holderIn()).toMatchObject({ pid: process.pid, ports: PORTS });
    lock.update({ apiUrl: 'http://127.0.0.1:8080', ports: { FUNCTIONS_PORT: 8090 } });
    expect(holderIn()).toMatchObject({ pid: process.pid, apiUrl: 'http://127.0.0.1:8080', ports: { ...PORTS, FUNCTIONS_PORT: 8090 } });
    lock.release();
    expect(existsSync(lockFile())).toBe(false);
    acquireLock(dir, PORTS).release();
  });

  it('refuses a second holder while the first lives, naming its pid and API, and leaves the lock as it was', () => {
    const first = acquireLock(dir, PORTS);
    first.update({ apiUrl: 'http://127.0.0.1:8080' });
    const before = readFileSync(lockFile(), 'utf8');
    const err = refusal(() => acquireLock(dir, { GATEWAY_PORT: 9090 }));
    expect(err.message).toBe(`ordersaga is already running from this folder (pid ${process.pid}, API http://127.0.0.1:8080)`);
    expect(readFileSync(lockFile(), 'utf8')).toBe(before);
    first.release();
  });

  it('says a holder that has no API yet is still starting', () => {
    const first = acquireLock(dir, { GATEWAY_PORT: 0 });
    expect(refusal(() => acquireLock(dir, PORTS)).message).toBe(`ordersaga is already running from this folder (pid ${process.pid}, still starting)`);
    first.release();
  });

  it('takes over the lock of a holder that died, and says whose it was', async () => {
    const dead: LockHolder = { pid: await deadPid(), ports: PORTS, startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(lockFile(), JSON.stringify(dead));
    const lock = acquireLock(dir, PORTS);
    expect(lock.tookOver).toEqual(dead);
    expect(holderIn().pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(existsSync('/proc/self/stat'))('takes over a lock whose pid now belongs to another process (started at another time)', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: process.pid, processStart: '1', ports: PORTS, startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = acquireLock(dir, PORTS);
    expect(lock.tookOver?.processStart).toBe('1');
    expect(holderIn().processStart).not.toBe('1');
    lock.release();
  });

  it('takes over a lock it cannot read', () => {
    writeFileSync(lockFile(), '{"pid": ');
    const lock = acquireLock(dir, PORTS);
    expect(holderIn().pid).toBe(process.pid);
    lock.release();
  });

  it('does not release a lock that another holder has taken since', async () => {
    const lock = acquireLock(dir, PORTS);
    const other = { pid: await deadPid(), ports: PORTS, startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(lockFile(), JSON.stringify(other));
    lock.release();
    expect(holderIn()).toEqual(other);
  });
});
