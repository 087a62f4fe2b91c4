import type { Host } from '../hosts/host-table.js';
import { HostTable } from '../hosts/host-table.js';
import { Placement } from '../placement/placement.js';

/**
 * Dovecot stalls every new user while the ring is unsynced. We stall only the users whose answer
 * depends on the change: until a sync round confirms the current host table ring-wide, a new user
 * may be placed at once when the last confirmed ("settled") table and the current one agree on its
 * backend, since every peer then answers the same whichever of the two it holds.
 */
export class SettledPlacement {
  readonly current: HostTable;
  readonly placement: Placement;
  private snapshot: HostTable;
  private snapshotPlacement: Placement;
  private settledVersion: number;

  constructor(current: HostTable, placement: Placement = new Placement(current)) {
    this.current = current;
    this.placement = placement;
    this.snapshot = copyTable(current);
    this.snapshotPlacement = new Placement(this.snapshot);
    this.settledVersion = current.version;
  }

  /** Whether the current table changed since it was last confirmed. */
  get unsettled(): boolean {
    return this.current.version !== this.settledVersion;
  }

  /** The last confirmed table (read-only use). */
  get settledTable(): HostTable {
    return this.snapshot;
  }

  /** The ring confirmed the current table: it becomes the settled one. */
  settle(): void {
    if (!this.unsettled) return;
    this.snapshot = copyTable(this.current);
    this.snapshotPlacement = new Placement(this.snapshot);
    this.settledVersion = this.current.version;
  }

  /** Where a new user goes under the current table. */
  lookup(hash: number, tag: string): Host | undefined {
    return this.placement.lookup(hash, tag);
  }

  /** A new user must wait: the table is unsettled and the settled table places it elsewhere. */
  mustWait(hash: number, tag: string): boolean {
    if (!this.unsettled) return false;
    const now = this.placement.lookup(hash, tag)?.ip.text;
    const before = this.snapshotPlacement.lookup(hash, tag)?.ip.text;
    return now !== before;
  }
}

function copyTable(source: HostTable): HostTable {
  const copy = new HostTable();
  for (const h of source.list()) {
    copy.set({
      ip: h.ip,
      tag: h.tag,
      vhostCount: h.vhostCount,
      down: h.down,
      lastUpdownChange: h.lastUpdownChange,
      ...(h.hostname !== undefined ? { hostname: h.hostname } : {}),
    });
  }
  return copy;
}
