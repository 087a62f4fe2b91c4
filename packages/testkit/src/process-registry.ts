import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPortsClosed } from './net.js';

// Masters started by this process, SIGTERMed on exit so a failed test cannot leave ports bound.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
// On-disk twin of `live` that survives SIGKILL/OOM of the test process: the next start reaps
// masters whose owner is gone (they would otherwise hold 127.0.x.y:143 forever).
const REGISTRY = join(tmpdir(), 'usher-testkit-masters');

interface RegistryEntry {
  owner: number;
  master: number;
  config: string;
  ip: string;
  ports: number[];
}

/** Synchronously SIGTERMs every Dovecot master this process started. Safe to call any time. */
export function stopAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
}

export function trackMaster(child: ChildProcess, entry: { config: string; ip: string; ports: number[] }): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', stopAll);
  }
  live.add(child);
  if (child.pid === undefined) return;
  mkdirSync(REGISTRY, { recursive: true });
  const record: RegistryEntry = { owner: process.pid, master: child.pid, ...entry };
  writeFileSync(join(REGISTRY, String(child.pid)), JSON.stringify(record));
}

export function untrackMaster(child: ChildProcess): void {
  live.delete(child);
  if (child.pid !== undefined) rmSync(join(REGISTRY, String(child.pid)), { force: true });
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0) but holds no sockets; an orphan's zombie may never be reaped here.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERMs masters left behind by test processes that died, and waits until their ports are free. */
export async function reapOrphans(): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(REGISTRY);
  } catch {
    return;
  }
  const waits: Array<Promise<void>> = [];
  for (const entry of entries) {
    const file = join(REGISTRY, entry);
    try {
      const e = JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry;
      if (alive(e.owner)) continue;
      // The pid may have been recycled: only kill it if it still is that Dovecot.
      const cmdline = readFileSync(`/proc/${e.master}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(e.config) && alive(e.master)) {
        process.kill(e.master, 'SIGTERM');
        waits.push(waitForPortsClosed(e.ip, e.ports, 15_000).catch(() => {}));
      }
    } catch {
      // unreadable entry or process already gone
    }
    rmSync(file, { force: true });
  }
  await Promise.all(waits);
}
