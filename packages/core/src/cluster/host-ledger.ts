import type { UsherError } from '../errors/usher-error.js';
import type { HostTable } from '../hosts/host-table.js';
import { parseIp } from '../hosts/ip-address.js';
import { MAX_VHOST_COUNT } from '../hosts/mail-servers.js';
import { ClusterStateError } from './cluster-errors.js';
import { BOOTSTRAP_MS, bootstrapHlc } from './hlc.js';
import { compareHostRecords, type HostRecord, recordOfHost } from './host-record.js';

export interface HostMergeOptions {
  /**
   * The records are a peer's whole table (a state transfer). A node that never saw a runtime change
   * then drops its configured hosts the peer does not know: the ring's table beats a stale config,
   * as Dovecot's handshake replaces an unsynced director's hosts.
   */
  readonly wholeTable?: boolean;
}

export interface HostMergeResult {
  /** Records that won and changed the table, in input order. */
  readonly applied: HostRecord[];
  /** Records that could not be applied (bad address or vhost count). */
  readonly rejected: { readonly record: HostRecord; readonly error: UsherError }[];
}

/**
 * The replicated host table: one record per host IP, last writer wins by HLC version, removals kept
 * as tombstones until `gc`. Every winning record is applied to the live `HostTable` the rest of the
 * node reads. Merging is order-insensitive: any order of the same records gives the same table.
 *
 * Hosts from configuration carry the bootstrap version (ms 0): any runtime change beats them, and a
 * node with runtime history ignores a bootstrap record for a host it never heard of, so a node
 * restarted with an old config cannot resurrect a host the ring removed.
 */
export class HostLedger {
  readonly table: HostTable;
  private readonly records = new Map<string, HostRecord>();
  private readonly onHostGone: (hostId: number) => void;
  private historic = false;

  /** Records the hosts already in `table` as configuration (bootstrap version written by `node`). */
  constructor(table: HostTable, node: string, onHostGone: (hostId: number) => void = () => {}) {
    this.table = table;
    this.onHostGone = onHostGone;
    const version = bootstrapHlc(node);
    for (const host of table.list()) this.records.set(host.ip.text, recordOfHost(host, version));
  }

  /** Whether any runtime change (not configuration) was ever applied here. */
  get hasHistory(): boolean {
    return this.historic;
  }

  get(ip: string): HostRecord | undefined {
    return this.records.get(parseIp(ip)?.text ?? ip);
  }

  /** Every record, tombstones included, ordered by IP text (deterministic for the wire). */
  list(): HostRecord[] {
    return [...this.records.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }

  merge(incoming: readonly HostRecord[], opts: HostMergeOptions = {}): HostMergeResult {
    const applied: HostRecord[] = [];
    const rejected: { record: HostRecord; error: UsherError }[] = [];
    const bringsHistory = incoming.some((r) => r.version.ms !== BOOTSTRAP_MS);
    if (opts.wholeTable && !this.historic && bringsHistory) this.dropConfigNotIn(incoming);
    // decided once per batch, so the order of records inside one batch does not matter
    const ignoreUnknownConfig = this.historic || bringsHistory;
    for (const record of incoming) {
      const error = validate(record);
      if (error) {
        rejected.push({ record, error });
        continue;
      }
      const ip = (parseIp(record.ip) as { text: string }).text;
      const normalized = ip === record.ip ? record : { ...record, ip };
      const local = this.records.get(ip);
      const stale = local
        ? compareHostRecords(normalized, local) <= 0
        : ignoreUnknownConfig && normalized.version.ms === BOOTSTRAP_MS;
      if (stale) continue;
      this.apply(normalized);
      applied.push(normalized);
    }
    return { applied, rejected };
  }

  /** Forget tombstones written before `beforeMs` (wall ms). Returns how many were dropped. */
  gc(beforeMs: number): number {
    let dropped = 0;
    for (const [ip, r] of this.records) {
      if (r.removed && r.version.ms < beforeMs) {
        this.records.delete(ip);
        dropped++;
      }
    }
    return dropped;
  }

  private dropConfigNotIn(incoming: readonly HostRecord[]): void {
    const known = new Set(incoming.map((r) => parseIp(r.ip)?.text ?? r.ip));
    for (const [ip, r] of [...this.records]) {
      if (r.version.ms !== BOOTSTRAP_MS || known.has(ip)) continue;
      this.records.delete(ip);
      this.removeLive(ip);
    }
  }

  private apply(record: HostRecord): void {
    if (record.version.ms !== BOOTSTRAP_MS) this.historic = true;
    this.records.set(record.ip, record);
    if (record.removed) {
      this.removeLive(record.ip);
      return;
    }
    const live = this.table.get(record.ip);
    // Dovecot forgets a host's users when its tag changes over the ring; a fresh host id does that.
    if (live && live.tag !== record.tag) this.removeLive(record.ip);
    this.table.set({
      ip: record.ip,
      tag: record.tag,
      vhostCount: record.vhostCount,
      down: record.down,
      lastUpdownChange: record.lastUpdownChange,
      ...(record.hostname !== '' ? { hostname: record.hostname } : {}),
    });
    if (record.hostname === '') this.table.setHostname(record.ip, undefined);
  }

  private removeLive(ip: string): void {
    const live = this.table.get(ip);
    if (!live) return;
    this.onHostGone(live.id);
    this.table.remove(ip);
  }
}

function validate(r: HostRecord): UsherError | undefined {
  if (!parseIp(r.ip)) return new ClusterStateError('BAD_HOST_RECORD', `not an IP address: ${r.ip}`, { ip: r.ip });
  if (r.removed) return undefined;
  if (!Number.isInteger(r.vhostCount) || r.vhostCount < 0 || r.vhostCount > MAX_VHOST_COUNT) {
    return new ClusterStateError('BAD_HOST_RECORD', `vhost count must be 0..${MAX_VHOST_COUNT}`, {
      ip: r.ip,
      vhostCount: r.vhostCount,
    });
  }
  return undefined;
}
