import type { Cancel, Scheduler } from './scheduler.js';

/**
 * Collects users whose assignment changed locally (placements, refreshes) and hands them out in
 * one go: one flooded update per interval or per `maxUsers`, instead of one message per login.
 * Keys are deduplicated, so a user refreshed many times in an interval travels once.
 */
export class UpdateBatcher {
  private readonly scheduler: Scheduler;
  private readonly intervalMs: number;
  private readonly maxUsers: number;
  private readonly flush: (keys: number[]) => void;
  private keys = new Set<number>();
  private timer: Cancel | undefined;

  constructor(opts: { scheduler: Scheduler; intervalMs: number; maxUsers: number; flush: (keys: number[]) => void }) {
    this.scheduler = opts.scheduler;
    this.intervalMs = opts.intervalMs;
    this.maxUsers = opts.maxUsers;
    this.flush = opts.flush;
  }

  get pending(): number {
    return this.keys.size;
  }

  add(key: number): void {
    this.keys.add(key);
    if (this.keys.size >= this.maxUsers) this.flushNow();
    else this.timer ??= this.scheduler.setTimeout(() => this.flushNow(), this.intervalMs);
  }

  flushNow(): void {
    this.timer?.();
    this.timer = undefined;
    if (this.keys.size === 0) return;
    const keys = [...this.keys];
    this.keys = new Set();
    this.flush(keys);
  }

  stop(): void {
    this.timer?.();
    this.timer = undefined;
    this.keys.clear();
  }
}
