import { createHash } from 'node:crypto';
import type { Host } from '../hosts/host-table.js';

/**
 * Dovecot's consistent-hash ring for one tag (reference §3.2): every usable host contributes
 * vhost_count points MD5("<ip text>-<i>"); a user goes to the first point >= its hash, wrapping.
 * Points live in a Uint32Array and the owning host's index in a Uint16Array so a lookup is a
 * binary search over flat memory with no allocation.
 */
export class VhostRing {
  readonly tag: string;
  /** Hosts that own at least one point, in the director's host order. */
  readonly hosts: readonly Host[];
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(tag: string, orderedHosts: readonly Host[]) {
    this.tag = tag;
    const usable = orderedHosts.filter((h) => h.tag === tag && !h.down && h.vhostCount > 0);
    this.hosts = usable;
    let total = 0;
    for (const h of usable) total += h.vhostCount;
    // point * 2^16 + host order: sorting one float array orders by point, ties by host order
    const keys = new Float64Array(total);
    let k = 0;
    usable.forEach((h, order) => {
      for (let i = 0; i < h.vhostCount; i++) {
        const point = createHash('md5').update(`${h.ip.text}-${i}`).digest().readUInt32BE(0);
        keys[k++] = point * 65536 + order;
      }
    });
    keys.sort();
    this.points = new Uint32Array(total);
    this.owners = new Uint16Array(total);
    for (let i = 0; i < total; i++) {
      const key = keys[i] as number;
      const order = key % 65536;
      this.points[i] = (key - order) / 65536;
      this.owners[i] = order;
    }
  }

  get size(): number {
    return this.points.length;
  }

  /** Index into `hosts` of the owner of this user hash, or -1 when the tag has no usable host. */
  lookupIndex(userHash: number): number {
    const points = this.points;
    const n = points.length;
    if (n === 0) return -1;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < userHash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === n ? 0 : lo] as number;
  }

  lookup(userHash: number): Host | undefined {
    const i = this.lookupIndex(userHash);
    return i < 0 ? undefined : this.hosts[i];
  }
}
