/**
 * One stack per data folder: `npm start` holds `stack.lock` in the folder
 * for the stack's lifetime. The lock names its holder (pid, ports, API), so a
 * second start is refused with where the first one answers, and a lock whose
 * holder died (kill -9, a power cut) is taken over.
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LockHolder {
  pid: number;
  /** When the holder's process started, where /proc tells (clock ticks since boot), to tell a reused pid from the holder. */
  processStart?: string;
  /** The API gateway's URL, once it is known (a port of 0 is known only once listening). */
  apiUrl?: string;
  /** Every port of the stack by the variable that sets it, once known. */
  ports: Record<string, number>;
  startedAt: string;
}

/** Another stack runs from this folder. */
export class AlreadyRunningError extends Error {
  override name = 'AlreadyRunningError';
  constructor(readonly holder: LockHolder) {
    super(`ordersaga is already running from this folder (pid ${holder.pid}, ${holder.apiUrl ? `API ${holder.apiUrl}` : 'still starting'})`);
  }
}

export interface StackLock {
  /** The dead holder whose lock this start took over, if any. */
  tookOver: LockHolder | undefined;
  /** Records what the stack now knows about itself (the API URL, ports). */
  update(change: Partial<Pick<LockHolder, 'apiUrl' | 'ports'>>): void;
  /** Gives the folder up (only if the lock is still this holder's). */
  release(): void;
}

export const LOCK_FILE = 'stack.lock';

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat, the process's start time; undefined without /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  } catch {
    return undefined;
  }
}

/** Whether the lock's holder still runs: its pid is alive and, where /proc tells, started when the holder did. */
function holderAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStart(holder.pid);
  return started === undefined || holder.processStart === undefined || started === holder.processStart;
}

/**
 * Takes the folder's lock for this process, or throws AlreadyRunningError
 * naming the live holder. Creating the lock is atomic (a complete file is
 * hard-linked into place), so of two starts at once exactly one wins.
 */
export function acquireLock(dataDir: string, ports: Record<string, number>): StackLock {
  const file = path.join(dataDir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, processStart: processStart(process.pid), ports, startedAt: new Date().toISOString() };
  const write = (target: string) => writeFileSync(target, JSON.stringify(holder, null, 2) + '\n');
  const draft = `${file}.${process.pid}`;
  let tookOver: LockHolder | undefined;
  write(draft);
  try {
    for (;;) {
      try {
        linkSync(draft, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = readHolder(file);
      if (current && holderAlive(current)) throw new AlreadyRunningError(current);
      // A dead holder's lock (or an unreadable one): move it aside, then check it was the one we judged.
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another start moved it first: try again
        throw err;
      }
      const moved = readHolder(aside);
      if (moved && holderAlive(moved)) {
        // A live start's fresh lock, taken between our read and our rename: give it back.
        renameSync(aside, file);
        throw new AlreadyRunningError(moved);
      }
      rmSync(aside, { force: true });
      tookOver = current ?? moved;
    }
  } finally {
    rmSync(draft, { force: true });
  }
  return {
    tookOver,
    update(change) {
      Object.assign(holder, change, change.ports ? { ports: { ...holder.ports, ...change.ports } } : {});
      // Written beside and renamed over, so a reader never sees half a lock.
      write(draft);
      renameSync(draft, file);
    },
    release() {
      if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
