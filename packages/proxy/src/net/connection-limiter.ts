/**
 * Open connections per client IP, counted on the real client address (after any PROXY header):
 * behind HAProxy every socket comes from the proxy, and limiting that would limit everyone.
 */
export class ConnectionLimiter {
  private readonly counts = new Map<string, number>();
  /** 0 or less: unlimited (still counted, for `count`). */
  readonly maxPerIp: number;

  constructor(maxPerIp: number) {
    this.maxPerIp = maxPerIp;
  }

  /**
   * Takes a slot for ip, or returns undefined when ip is at its limit. The returned release is
   * idempotent, so every close path may call it without double-freeing someone else's slot.
   */
  tryAcquire(ip: string): (() => void) | undefined {
    const n = this.counts.get(ip) ?? 0;
    if (this.maxPerIp > 0 && n >= this.maxPerIp) return undefined;
    this.counts.set(ip, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(ip) ?? 1) - 1;
      // entries for gone clients would otherwise accumulate for the life of the process
      if (left <= 0) this.counts.delete(ip);
      else this.counts.set(ip, left);
    };
  }

  count(ip: string): number {
    return this.counts.get(ip) ?? 0;
  }

  /** Distinct IPs with at least one open connection. */
  get size(): number {
    return this.counts.size;
  }
}
