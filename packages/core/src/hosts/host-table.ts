import { HostSpecError, UsherError } from '../errors/usher-error.js';
import { crc32 } from './crc32.js';
import { compareIp, type IpAddress, requireIp } from './ip-address.js';
import { DEFAULT_VHOST_COUNT, MAX_VHOST_COUNT } from './mail-servers.js';

/** One backend ("mail host"). `id` is a small stable number the user directory stores instead of the IP. */
export interface Host {
  readonly id: number;
  readonly ip: IpAddress;
  readonly tag: string;
  readonly vhostCount: number;
  readonly down: boolean;
  /** Unix seconds of the last up/down change; 0 = never. */
  readonly lastUpdownChange: number;
  readonly hostname?: string;
}

export interface HostInput {
  readonly ip: IpAddress | string;
  readonly tag?: string;
  readonly vhostCount?: number;
  readonly down?: boolean;
  readonly lastUpdownChange?: number;
  readonly hostname?: string;
}

export class HostTableError extends UsherError {}

const MAX_HOST_ID = 0xfffe;

/**
 * The backends, kept in the director's order (IPv4 before IPv6, then address bytes).
 * `version` increases on every change so derived data (vhost rings) can be rebuilt lazily.
 */
export class HostTable {
  private sorted: Host[] = [];
  private readonly byText = new Map<string, Host>();
  private readonly byId: (Host | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private versionCounter = 0;

  get version(): number {
    return this.versionCounter;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Hosts in the director's order. */
  list(): readonly Host[] {
    return this.sorted;
  }

  get(ip: IpAddress | string): Host | undefined {
    return this.byText.get(typeof ip === 'string' ? requireIp(ip).text : ip.text);
  }

  byHostId(id: number): Host | undefined {
    return this.byId[id];
  }

  tags(): string[] {
    return [...new Set(this.sorted.map((h) => h.tag))];
  }

  /** Add a host, or update every given field of an existing one. A tag change is refused, as in Dovecot. */
  set(input: HostInput): Host {
    const ip = typeof input.ip === 'string' ? requireIp(input.ip) : input.ip;
    const vhostCount = input.vhostCount ?? DEFAULT_VHOST_COUNT;
    if (!Number.isInteger(vhostCount) || vhostCount < 0 || vhostCount > MAX_VHOST_COUNT) {
      throw new HostSpecError(`vhost count must be 0..${MAX_VHOST_COUNT}: ${vhostCount}`, { input: ip.text });
    }
    const existing = this.byText.get(ip.text);
    if (existing) {
      if (input.tag !== undefined && input.tag !== existing.tag) {
        throw new HostTableError('HOST_TAG_CHANGE', "host tag can't be changed", {
          ip: ip.text,
          from: existing.tag,
          to: input.tag,
        });
      }
      return this.replace(existing, {
        ...existing,
        vhostCount: input.vhostCount ?? existing.vhostCount,
        down: input.down ?? existing.down,
        lastUpdownChange: input.lastUpdownChange ?? existing.lastUpdownChange,
        ...(input.hostname !== undefined ? { hostname: input.hostname } : {}),
      });
    }
    const id = this.freeIds.pop() ?? this.byId.length;
    if (id > MAX_HOST_ID) throw new HostTableError('HOST_LIMIT', 'too many hosts', { ip: ip.text });
    const host: Host = {
      id,
      ip,
      tag: input.tag ?? '',
      vhostCount,
      down: input.down ?? false,
      lastUpdownChange: input.lastUpdownChange ?? 0,
      ...(input.hostname !== undefined ? { hostname: input.hostname } : {}),
    };
    this.byId[id] = host;
    this.byText.set(ip.text, host);
    const at = this.insertPos(ip);
    this.sorted.splice(at, 0, host);
    this.versionCounter++;
    return host;
  }

  setVhostCount(ip: IpAddress | string, vhostCount: number): Host {
    const host = this.mustGet(ip);
    return this.set({ ip: host.ip, vhostCount });
  }

  /** Up/down with the time of the change (unix seconds). Same state again changes nothing. */
  setDown(ip: IpAddress | string, down: boolean, nowSecs: number): Host {
    const host = this.mustGet(ip);
    if (host.down === down) return host;
    return this.replace(host, { ...host, down, lastUpdownChange: Math.max(host.lastUpdownChange, nowSecs) });
  }

  /** Sets or clears (undefined) the name a host was configured by; `set` can only add one. */
  setHostname(ip: IpAddress | string, hostname: string | undefined): Host {
    const host = this.mustGet(ip);
    if (host.hostname === hostname) return host;
    const { hostname: _old, ...rest } = host;
    return this.replace(host, hostname === undefined ? rest : { ...rest, hostname });
  }

  remove(ip: IpAddress | string): Host | undefined {
    const host = this.get(ip);
    if (!host) return undefined;
    this.byText.delete(host.ip.text);
    this.byId[host.id] = undefined;
    this.freeIds.push(host.id);
    this.sorted = this.sorted.filter((h) => h !== host);
    this.versionCounter++;
    return host;
  }

  /**
   * Dovecot's hosts checksum (reference §3.5), carried in ring SYNC so peers can tell whether
   * they hold the same table: CRC-32 chained over (down XOR vhost_count) as little-endian u32,
   * the address (IPv4 bytes, or an ELF-style hash of the IPv6 bytes as little-endian u32), the tag.
   */
  hostsHash(): number {
    let crc = 0;
    const u32 = new Uint8Array(4);
    const view = new DataView(u32.buffer);
    for (const h of this.sorted) {
      view.setUint32(0, ((h.down ? 1 : 0) ^ h.vhostCount) >>> 0, true);
      crc = crc32(crc, u32);
      if (h.ip.family === 4) crc = crc32(crc, h.ip.bytes);
      else {
        view.setUint32(0, elfHash(h.ip.bytes), true);
        crc = crc32(crc, u32);
      }
      if (h.tag !== '') crc = crc32(crc, Buffer.from(h.tag, 'utf8'));
    }
    return crc === 0 ? 1 : crc;
  }

  private mustGet(ip: IpAddress | string): Host {
    const host = this.get(ip);
    if (!host)
      throw new HostTableError('HOST_NOT_FOUND', 'host not found', { ip: typeof ip === 'string' ? ip : ip.text });
    return host;
  }

  private replace(old: Host, next: Host): Host {
    if (
      old.vhostCount === next.vhostCount &&
      old.down === next.down &&
      old.lastUpdownChange === next.lastUpdownChange &&
      old.hostname === next.hostname
    ) {
      return old;
    }
    this.byId[old.id] = next;
    this.byText.set(next.ip.text, next);
    this.sorted[this.sorted.indexOf(old)] = next;
    this.versionCounter++;
    return next;
  }

  private insertPos(ip: IpAddress): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareIp((this.sorted[mid] as Host).ip, ip) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function elfHash(bytes: Uint8Array): number {
  let h = 0;
  for (const b of bytes) {
    h = ((h << 4) + b) >>> 0;
    const g = (h & 0xf0000000) >>> 0;
    if (g !== 0) {
      h = (h ^ (g >>> 24)) >>> 0;
      h = (h ^ g) >>> 0;
    }
  }
  return h >>> 0;
}
