/**
 * CPU time of each process in the stack, from /proc (Linux): where an order's
 * cost goes. Processes are named by what they run — a function by its
 * FUNCTION_TARGET, PostgreSQL backends together — so the breakdown reads as
 * the saga's parts.
 */
import { readFileSync } from 'node:fs';
import { processTree } from './rss.js';

const TICKS_PER_SECOND = 100;

function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat; fields here start at 3.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function partOf(pid: number): string | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (/(^|\/)(npm|sh)\0|npm-cli\.js/.test(cmdline)) return undefined;
    if (/postgres/.test(cmdline)) return 'postgres';
    const target = /(?:^|\0)FUNCTION_TARGET=([^\0]+)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'));
    if (target) return target[1];
    if (/dist\/local\.js/.test(cmdline)) return 'broker + gateway';
    return 'other';
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Map<number, { part: string; ms: number }>;

/**
 * CPU so far of every process under `root`, named by what it runs, or all
 * named `part` when given (a peer's server, PostgreSQL's postmaster).
 */
export function snapshotCpu(root: number, part?: string): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of processTree(root)) {
    const name = partOf(pid);
    if (name === undefined) continue;
    const ms = cpuMs(pid);
    if (ms !== undefined) out.set(pid, { part: part ?? name, ms });
  }
  return out;
}

/** The snapshots of several process trees as one. */
export function mergeSnapshots(...snapshots: CpuSnapshot[]): CpuSnapshot {
  return new Map(snapshots.flatMap((s) => [...s]));
}

/** CPU milliseconds spent per part between two snapshots, busiest first. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): [string, number][] {
  const parts = new Map<string, number>();
  for (const [pid, { part, ms }] of after) {
    parts.set(part, (parts.get(part) ?? 0) + ms - (before.get(pid)?.ms ?? 0));
  }
  return [...parts].sort((a, b) => b[1] - a[1]);
}
