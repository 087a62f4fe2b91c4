import type { HostInput, HostTable } from '../hosts/host-table.js';
import { parseIp } from '../hosts/ip-address.js';
import { DEFAULT_VHOST_COUNT } from '../hosts/mail-servers.js';
import { Placement } from '../placement/placement.js';
import { ClusterStateError } from './cluster-errors.js';
import { computeDigests } from './digests.js';
import { HlcClock } from './hlc.js';
import { HostLedger, type HostMergeOptions, type HostMergeResult } from './host-ledger.js';
import { type HostRecord, isManualDown, sameHostContent } from './host-record.js';
import { ReplicatedUsers, type UserMergeResult } from './replicated-users.js';
import { SettledPlacement } from './settled-placement.js';
import type { UserBatch } from './user-batch.js';

/** Who writes a host change: an operator (default) or the health checks. */
export interface HostWriter {
  readonly health?: boolean;
}

export interface ClusterStateOptions {
  /** This node's id ("ip:port"): the HLC writer and the tie-breaker of its versions. */
  readonly node: string;
  /** The live host table, as configured (director_mail_servers); the ring replicates it from here on. */
  readonly hosts: HostTable;
  readonly userExpireSecs?: number;
  /** Timestamp rounding for digests. Default: half of Dovecot's near-expiry window (10% of expire, 3..30 s). */
  readonly digestGranularitySecs?: number;
}

/**
 * One node's replicated cluster state: hosts (LWW records over the live HostTable), users (the
 * merge semilattice), the settled table for the unsettled rule, the HLC. A pure state machine: the
 * ring feeds it what peers sent and what the admin asked, with the time, and ships what it returns.
 */
export class ClusterState {
  readonly node: string;
  readonly hosts: HostTable;
  readonly hlc: HlcClock;
  readonly ledger: HostLedger;
  readonly users: ReplicatedUsers;
  readonly placement: Placement;
  readonly settled: SettledPlacement;
  readonly digestGranularitySecs: number;

  constructor(opts: ClusterStateOptions) {
    this.node = opts.node;
    this.hosts = opts.hosts;
    this.hlc = new HlcClock(opts.node);
    this.users = new ReplicatedUsers(
      opts.userExpireSecs === undefined
        ? { hosts: opts.hosts }
        : { hosts: opts.hosts, expireSecs: opts.userExpireSecs },
    );
    this.ledger = new HostLedger(opts.hosts, opts.node, (hostId) => this.users.dropHost(hostId));
    this.placement = new Placement(opts.hosts);
    this.settled = new SettledPlacement(opts.hosts, this.placement);
    const near = Math.min(30, Math.max(3, Math.floor(this.users.expireSecs / 10)));
    this.digestGranularitySecs = opts.digestGranularitySecs ?? Math.max(1, Math.floor(near / 2));
  }

  hostsHash(): number {
    return this.hosts.hostsHash();
  }

  mergeHosts(records: readonly HostRecord[], wallMs: number, opts: HostMergeOptions = {}): HostMergeResult {
    for (const r of records) this.hlc.observe(r.version, wallMs);
    return this.ledger.merge(records, opts);
  }

  mergeUsers(batch: UserBatch, nowSecs: number, collectLearned = 0): UserMergeResult {
    return this.users.merge(batch, { now: nowSecs, collectLearned });
  }

  digests(nowSecs: number): Uint32Array {
    return computeDigests(this.users, { now: nowSecs, granularitySecs: this.digestGranularitySecs });
  }

  /**
   * Admin add/update: the record to flood, already applied here, or undefined when nothing changes.
   * A tag change is refused, as Dovecot's admin does.
   */
  setHost(input: HostInput, wallMs: number, by: HostWriter = {}): HostRecord | undefined {
    const ip = ipText(input.ip);
    const live = this.hosts.get(ip);
    if (live && input.tag !== undefined && input.tag !== live.tag) {
      throw new ClusterStateError('HOST_TAG_CHANGE', "host tag can't be changed", {
        ip,
        from: live.tag,
        to: input.tag,
      });
    }
    const down = input.down ?? live?.down ?? false;
    const current = this.ledger.get(ip);
    // who decided the down state: kept when this change leaves it alone, the writer's otherwise
    const healthDown = down && (input.down === undefined ? current?.healthDown === true : by.health === true);
    const candidate: HostRecord = {
      ip,
      tag: input.tag ?? live?.tag ?? '',
      vhostCount: input.vhostCount ?? live?.vhostCount ?? DEFAULT_VHOST_COUNT,
      down,
      lastUpdownChange: updownChange(live, down, input.lastUpdownChange, wallMs),
      hostname: input.hostname ?? live?.hostname ?? '',
      removed: false,
      ...(healthDown ? { healthDown: true } : {}),
      version: this.hlc.last,
    };
    if (live && current && sameHostContent(candidate, current)) return undefined;
    return this.applyLocal({ ...candidate, version: this.hlc.tick(wallMs) });
  }

  /**
   * Admin HOST-UP / HOST-DOWN, or (`by.health`) the health checks' verdict. An operator's down holds
   * against health: a health write to a host an operator marked down changes nothing. An operator's
   * down on a host health marked down makes it the operator's.
   */
  setHostDown(ip: string, down: boolean, wallMs: number, by: HostWriter = {}): HostRecord | undefined {
    const live = this.mustGet(ip);
    const current = this.ledger.get(live.ip.text);
    if (by.health === true && current && isManualDown(current)) return undefined;
    const healthDown = down && by.health === true;
    if (live.down === down && (current?.healthDown === true) === healthDown) return undefined;
    return this.setHost({ ip: live.ip, down }, wallMs, by);
  }

  /** Admin remove: a tombstone (the host's users are dropped on every node that applies it). */
  removeHost(ip: string, wallMs: number): HostRecord {
    const live = this.mustGet(ip);
    const current = this.ledger.get(live.ip.text);
    return this.applyLocal({
      ip: live.ip.text,
      tag: live.tag,
      vhostCount: live.vhostCount,
      down: live.down,
      lastUpdownChange: live.lastUpdownChange,
      hostname: current?.hostname ?? '',
      removed: true,
      version: this.hlc.tick(wallMs),
    });
  }

  private mustGet(ip: string) {
    const live = this.hosts.get(ipText(ip));
    if (!live) throw new ClusterStateError('HOST_NOT_FOUND', 'host not found', { ip });
    return live;
  }

  private applyLocal(record: HostRecord): HostRecord {
    const result = this.ledger.merge([record]);
    const rejected = result.rejected[0];
    if (rejected) throw rejected.error;
    return record;
  }
}

/** Dovecot's last_updown_change: 0 for a host never switched, the time of the switch otherwise. */
function updownChange(
  live: { down: boolean; lastUpdownChange: number } | undefined,
  down: boolean,
  given: number | undefined,
  wallMs: number,
): number {
  if (given !== undefined) return given;
  if (!live) return 0;
  return live.down === down ? live.lastUpdownChange : Math.floor(wallMs / 1000);
}

function ipText(ip: HostInput['ip']): string {
  if (typeof ip !== 'string') return ip.text;
  const parsed = parseIp(ip);
  if (!parsed) throw new ClusterStateError('BAD_HOST_RECORD', `not an IP address: ${ip}`, { ip });
  return parsed.text;
}
