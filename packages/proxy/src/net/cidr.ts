import { type IpAddress, parseIp, UsherError } from '@usher/core';

/** A login_trusted_networks / haproxy_trusted_networks entry that is not an address or a CIDR. */
export class NetworkListError extends UsherError {
  constructor(message: string, context: { entry: string }) {
    super('NETWORK_LIST', message, context);
  }
}

export interface Network {
  readonly family: 4 | 6;
  /** The network address with the host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * A set of networks as Dovecot's *_trusted_networks settings write them. Sockets on a dual-stack
 * listener report IPv4 clients as `::ffff:a.b.c.d`; those must still match `10.0.0.0/8`, or a
 * trusted client would silently lose its trust when the listener moves to `::`.
 */
export class NetworkList {
  readonly networks: readonly Network[];

  private constructor(networks: readonly Network[]) {
    this.networks = networks;
  }

  static readonly empty = new NetworkList([]);

  /** Space and/or comma separated. A bare address is a host network (/32, /128). */
  static parse(spec: string): NetworkList {
    const out: Network[] = [];
    for (const entry of spec.split(/[\s,]+/)) {
      if (entry !== '') out.push(parseNetwork(entry));
    }
    return new NetworkList(out);
  }

  get isEmpty(): boolean {
    return this.networks.length === 0;
  }

  /** False for anything that is not an IP address: an unparsable peer is never trusted. */
  contains(ip: string): boolean {
    if (this.networks.length === 0) return false;
    const addr = parseIp(stripZone(ip));
    if (!addr) return false;
    const v4 = addr.family === 4 ? addr.bytes : mappedV4(addr);
    // an IPv6 entry such as ::ffff:0:0/96 should match a plain IPv4 peer as well
    const v6 = addr.family === 6 ? addr.bytes : toMapped(addr.bytes);
    for (const net of this.networks) {
      const candidate = net.family === 4 ? v4 : v6;
      if (candidate && matches(net, candidate)) return true;
    }
    return false;
  }

  toString(): string {
    return this.networks.map(formatNetwork).join(' ');
  }
}

/** The address a log line and a backend should see: `::ffff:1.2.3.4` becomes `1.2.3.4`. */
export function normaliseIp(ip: string): string {
  const addr = parseIp(ip);
  if (!addr) return ip;
  const v4 = addr.family === 6 ? mappedV4(addr) : undefined;
  return v4 ? v4.join('.') : addr.text;
}

function parseNetwork(entry: string): Network {
  const slash = entry.indexOf('/');
  const addrText = slash < 0 ? entry : entry.slice(0, slash);
  const addr = parseIp(addrText);
  if (!addr) throw new NetworkListError(`not an IP address or network: ${entry}`, { entry });
  const max = addr.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      throw new NetworkListError(`invalid prefix length in ${entry} (0..${max})`, { entry });
    }
    prefix = Number(bits);
  }
  // Dovecot accepts 10.1.2.3/8 and means 10.0.0.0/8; clearing the host bits makes matching a plain compare
  return { family: addr.family, bytes: mask(addr.bytes, prefix), prefix };
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (bytes[i] as number) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function matches(net: Network, bytes: Uint8Array): boolean {
  const masked = mask(bytes, net.prefix);
  for (let i = 0; i < masked.length; i++) if (masked[i] !== net.bytes[i]) return false;
  return true;
}

function mappedV4(addr: IpAddress): Uint8Array | undefined {
  const b = addr.bytes;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return b.subarray(12);
}

function toMapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

/** Link-local peers may carry a scope (`fe80::1%eth0`); the scope does not change which network it is in. */
function stripZone(ip: string): string {
  const pct = ip.indexOf('%');
  return pct < 0 ? ip : ip.slice(0, pct);
}

function formatNetwork(net: Network): string {
  const text = net.family === 4 ? net.bytes.join('.') : (parseIp(v6Text(net.bytes))?.text ?? '');
  return `${text}/${net.prefix}`;
}

/** Uncompressed text parseIp can read back; parseIp then gives the canonical form. */
export function v6Text(bytes: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return words.join(':');
}
