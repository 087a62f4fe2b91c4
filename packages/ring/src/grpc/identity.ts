import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';

/** Call metadata key naming the sender's node id; the server answers with its own under the same key. */
export const NODE_HEADER = 'x-usher-node';
/** Trailer carrying the reason when the server side closes a link. */
export const CLOSE_REASON_TRAILER = 'x-usher-close-reason';

export interface NodeAddress {
  readonly ip: string;
  readonly port: number;
}

/** Parses a node id, "a.b.c.d:port" or "[v6]:port"; a bare IPv6 with a port is ambiguous and refused. */
export function parseNodeId(id: string): NodeAddress {
  let ip: string;
  let port: string;
  if (id.startsWith('[')) {
    const end = id.indexOf(']:');
    if (end < 0) throw new RangeError(`node id ${JSON.stringify(id)}: expected [ipv6]:port`);
    ip = id.slice(1, end);
    port = id.slice(end + 2);
    if (isIP(ip) !== 6) throw new RangeError(`node id ${JSON.stringify(id)}: ${ip} is not an IPv6 address`);
  } else {
    const colon = id.lastIndexOf(':');
    ip = id.slice(0, colon);
    port = id.slice(colon + 1);
    if (colon < 0 || isIP(ip) !== 4) throw new RangeError(`node id ${JSON.stringify(id)}: expected ip:port`);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw new RangeError(`node id ${JSON.stringify(id)}: bad port`);
  return { ip, port: n };
}

/** A gRPC target that skips DNS: the id already is an address. */
export function grpcTarget(address: NodeAddress): string {
  return isIP(address.ip) === 6 ? `ipv6:[${address.ip}]:${address.port}` : `ipv4:${address.ip}:${address.port}`;
}

/**
 * Whether a (chain-verified) certificate was issued to `ip`: an IP entry in subjectAltName, or
 * the CN spelling the address for certificates made without SANs. Both directions of a link use
 * this, so a node's one certificate is its identity as client and as server alike.
 */
export function certificateNamesIp(cert: PeerCertificate, ip: string): boolean {
  if (cert.raw && new X509Certificate(cert.raw).checkIP(ip) !== undefined) return true;
  const cn: unknown = cert.subject?.CN;
  const cns = Array.isArray(cn) ? cn : [cn];
  return cns.some((c) => typeof c === 'string' && isIP(c) !== 0 && sameIp(c, ip));
}

function sameIp(a: string, b: string): boolean {
  if (isIP(a) !== isIP(b)) return false;
  if (isIP(a) === 4) return a === b;
  // Spellings of one IPv6 address differ (zero compression, case); the URL parser canonicalises.
  return new URL(`http://[${a}]/`).hostname === new URL(`http://[${b}]/`).hostname;
}

export function describeCertificate(cert: PeerCertificate | undefined): string {
  if (!cert) return 'no certificate';
  const cn = cert.subject?.CN;
  return `CN=${String(cn)} SAN=${cert.subjectaltname ?? '(none)'}`;
}
