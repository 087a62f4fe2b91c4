import type { Host } from '../hosts/host-table.js';
import { compareHlc, type Hlc } from './hlc.js';

/**
 * A host's full state with the version of its last change, as the ring replicates it.
 * Same shape as the ring's wire `HostRecord` (ring/src/messages.ts).
 */
export interface HostRecord {
  readonly ip: string;
  readonly tag: string;
  readonly vhostCount: number;
  readonly down: boolean;
  /** Unix seconds of the last up/down change. */
  readonly lastUpdownChange: number;
  /** "" when the host was not configured by name. */
  readonly hostname: string;
  /** A removed host is kept as a tombstone so an older "set" cannot resurrect it. */
  readonly removed: boolean;
  /**
   * `down` was set by the health checks, not by an operator. Absent (false) on every other record,
   * so a down from an operator, a config or a node that predates health checks stays an operator's
   * decision that health never overrides.
   */
  readonly healthDown?: boolean;
  readonly version: Hlc;
}

/** Down by an operator: holds until an operator brings the host up (health leaves it alone). */
export function isManualDown(r: HostRecord): boolean {
  return r.down && !r.removed && r.healthDown !== true;
}

export function recordOfHost(host: Host, version: Hlc): HostRecord {
  return {
    ip: host.ip.text,
    tag: host.tag,
    vhostCount: host.vhostCount,
    down: host.down,
    lastUpdownChange: host.lastUpdownChange,
    hostname: host.hostname ?? '',
    removed: false,
    version,
  };
}

/** Whether two records describe the same host state (versions aside). */
export function sameHostContent(a: HostRecord, b: HostRecord): boolean {
  return (
    a.ip === b.ip &&
    a.removed === b.removed &&
    (a.removed ||
      (a.tag === b.tag &&
        a.vhostCount === b.vhostCount &&
        a.down === b.down &&
        a.lastUpdownChange === b.lastUpdownChange &&
        a.hostname === b.hostname &&
        (a.healthDown === true) === (b.healthDown === true)))
  );
}

/**
 * Total order on records: the HLC version, then (only for two different records carrying one
 * version, which a correct writer never issues) the content, so even that case merges alike everywhere.
 */
export function compareHostRecords(a: HostRecord, b: HostRecord): number {
  const byVersion = compareHlc(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  const ka = contentKey(a);
  const kb = contentKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function contentKey(r: HostRecord): string {
  // the health flag only when set, so records without it keep the order they always had
  const key = `${r.removed ? 1 : 0}|${r.tag}|${r.vhostCount}|${r.down ? 1 : 0}|${r.lastUpdownChange}|${r.hostname}`;
  return r.healthDown === true ? `${key}|h` : key;
}
