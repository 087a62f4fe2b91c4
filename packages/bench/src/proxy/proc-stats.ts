import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second, the unit of /proc/<pid>/stat CPU times. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name; index 0 is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name may contain spaces and parentheses; the last ')' ends it
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function num(fields: string[], field: number): number {
  return Number(fields[field - 3] ?? 0);
}

/** utime + stime of one process in ms (0 if it is gone). */
export function cpuMs(pid: number): number {
  const f = statFields(pid);
  return f ? ((num(f, 14) + num(f, 15)) * 1000) / CLK_TCK : 0;
}

/** utime and stime of one process in ms (0 if it is gone). */
export function cpuTimes(pid: number): { userMs: number; sysMs: number } {
  const f = statFields(pid);
  return f ? { userMs: (num(f, 14) * 1000) / CLK_TCK, sysMs: (num(f, 15) * 1000) / CLK_TCK } : { userMs: 0, sysMs: 0 };
}

/** VmRSS of one process in KiB (0 if it is gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** `pid` and every live process below it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const f = statFields(p);
    if (!f) continue;
    const ppid = num(f, 4);
    const list = children.get(ppid);
    if (list) list.push(p);
    else children.set(ppid, [p]);
  }
  const out: number[] = [];
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * CPU ms of a whole process tree, including children that already exited: the kernel adds a reaped
 * child's time to its parent's cutime/cstime, so a before/after delta also covers short-lived
 * processes (Dovecot's per-login imap processes).
 */
export function treeCpuMs(root: number): number {
  let ticks = 0;
  for (const p of processTree(root)) {
    const f = statFields(p);
    if (f) ticks += num(f, 14) + num(f, 15) + num(f, 16) + num(f, 17);
  }
  return (ticks * 1000) / CLK_TCK;
}

/** Sum of VmRSS over a process tree in KiB (shared pages counted once per process). */
export function treeRssKiB(root: number): number {
  return processTree(root).reduce((sum, p) => sum + rssKiB(p), 0);
}

/** Direct children of this process whose command line contains `needle` (e.g. a Dovecot config path). */
export function childrenMatching(needle: string): number[] {
  return allPids().filter((p) => {
    const f = statFields(p);
    if (!f || num(f, 4) !== process.pid) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(needle);
    } catch {
      return false;
    }
  });
}

/** The soft RLIMIT_NOFILE of this process, which the processes it spawns inherit. */
export function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Aggregate jiffies of all CPUs, to tell how saturated the box was (other tenants included). */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export function busyShare(before: MachineCpu, after: MachineCpu): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}
