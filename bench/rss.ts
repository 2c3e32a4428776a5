/**
 * Memory of a process and all its descendants, from /proc (Linux). PSS
 * (proportional set size) counts a shared page once across the processes
 * that share it, so PostgreSQL's shared buffers are not counted per backend.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The parent of `pid`, from /proc; undefined when it is gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function pssKb(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
  } catch {
    return '';
  }
}

/** Every live descendant of `root`, and `root` itself. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(root);
  return out;
}

/**
 * Resident memory (PSS) of the stack under `root`, in MB. The launcher
 * (`npm`, and the shell it runs scripts in) is not part of the stack.
 */
export function treeRssMb(root: number): number {
  return (
    processTree(root)
      .filter((pid) => !/(^|\/)(npm|sh)( |$)|npm-cli\.js/.test(commandOf(pid)))
      .reduce((sum, pid) => sum + pssKb(pid), 0) / 1024
  );
}
