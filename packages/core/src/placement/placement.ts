import type { Host, HostTable } from '../hosts/host-table.js';
import { VhostRing } from './vhost-ring.js';

/**
 * Where a user without an assignment goes: a pure function of the host table.
 * Rings are built per tag on first use and dropped whenever the table's version moves.
 */
export class Placement {
  private readonly table: HostTable;
  private rings = new Map<string, VhostRing>();
  private builtFor = -1;

  constructor(table: HostTable) {
    this.table = table;
  }

  ring(tag: string): VhostRing {
    if (this.builtFor !== this.table.version) {
      this.rings = new Map();
      this.builtFor = this.table.version;
    }
    let ring = this.rings.get(tag);
    if (!ring) {
      ring = new VhostRing(tag, this.table.list());
      this.rings.set(tag, ring);
    }
    return ring;
  }

  lookup(userHash: number, tag = ''): Host | undefined {
    return this.ring(tag).lookup(userHash);
  }
}
