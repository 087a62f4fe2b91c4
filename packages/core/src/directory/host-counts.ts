/**
 * Users per host id, kept up to date by the directory on every insert, host change and removal,
 * so `doveadm director status`-style counts never need a scan. A typed array indexed by host id,
 * grown (power of two, at most 65535 entries) to the largest id seen.
 */
export const MAX_HOST_ID = 0xfffe;

export class HostCounts {
  private counts = new Uint32Array(16);

  get(hostId: number): number {
    return this.counts[hostId] ?? 0;
  }

  increment(hostId: number): void {
    if (hostId >= this.counts.length) this.grow(hostId);
    this.counts[hostId] = (this.counts[hostId] ?? 0) + 1;
  }

  decrement(hostId: number): void {
    this.counts[hostId] = (this.counts[hostId] ?? 0) - 1;
  }

  /** Host ids with at least one user, ascending. */
  ids(): number[] {
    const out: number[] = [];
    const counts = this.counts;
    for (let id = 0; id < counts.length; id++) if (counts[id] !== 0) out.push(id);
    return out;
  }

  clear(): void {
    this.counts.fill(0);
  }

  get byteLength(): number {
    return this.counts.byteLength;
  }

  private grow(hostId: number): void {
    let length = this.counts.length;
    while (length <= hostId) length *= 2;
    const grown = new Uint32Array(Math.min(length, MAX_HOST_ID + 1));
    grown.set(this.counts);
    this.counts = grown;
  }
}
