import type { Readable } from 'node:stream';
import { parseIp } from '@usher/core';
import { ProxyError } from '../errors.js';
import { v6Text } from './cidr.js';

/**
 * HAProxy PROXY protocol, v1 (text) and v2 (binary), as pure functions over the bytes received
 * so far. Called again as more bytes arrive, so every answer must be stable under any split:
 * 'incomplete' only while a valid header could still follow, and an error as early as one is
 * certain, so a hostile peer cannot make us wait for bytes that can never make a header.
 */

export interface ProxyEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface ProxyAddresses {
  readonly family: 4 | 6;
  readonly source: ProxyEndpoint;
  readonly destination: ProxyEndpoint;
}

/** PP2_TYPE_SSL: what HAProxy saw of the client's TLS. */
export interface ProxySsl {
  /** PP2_CLIENT_* bits. */
  readonly client: number;
  /** 0 when a client certificate was presented and verified. */
  readonly verify: number;
  readonly version?: string;
  readonly cipher?: string;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  readonly command: 'PROXY' | 'LOCAL';
  /** Absent: the connection's own endpoints apply (v2 LOCAL, v1 UNKNOWN, AF_UNIX, AF_UNSPEC, datagram). */
  readonly addresses?: ProxyAddresses;
  readonly ssl?: ProxySsl;
  /** PP2_TYPE_AUTHORITY: the host name the client asked for (TLS SNI). */
  readonly authority?: string;
}

export type ProxyParseResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'ok'; readonly header: ProxyHeader; readonly consumed: number }
  | { readonly kind: 'error'; readonly message: string };

export const PROXY_V1_MAX_LENGTH = 107;
/**
 * HAProxy's own headers stay far below this (216 bytes of AF_UNIX addresses plus a few TLVs);
 * a larger declared length is refused at once instead of buffering up to 64 KiB per connection.
 */
export const PROXY_V2_MAX_PAYLOAD = 2048;
export const PROXY_V2_SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');

export const PP2_TYPE_AUTHORITY = 0x02;
export const PP2_TYPE_SSL = 0x20;
export const PP2_SUBTYPE_SSL_VERSION = 0x21;
export const PP2_SUBTYPE_SSL_CIPHER = 0x23;
export const PP2_CLIENT_SSL = 0x01;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_HEADER_LENGTH = 16;

const INCOMPLETE: ProxyParseResult = { kind: 'incomplete' };
const error = (message: string): ProxyParseResult => ({ kind: 'error', message });

export function parseProxyHeader(buf: Buffer): ProxyParseResult {
  if (startsLike(buf, PROXY_V2_SIGNATURE)) {
    return buf.length < PROXY_V2_SIGNATURE.length ? INCOMPLETE : parseV2(buf);
  }
  if (startsLike(buf, V1_PREFIX)) {
    return buf.length < V1_PREFIX.length ? INCOMPLETE : parseV1(buf);
  }
  return error('not a PROXY protocol header');
}

/**
 * Reads a PROXY header off a fresh connection. Bytes that arrived with it (the client's first
 * command, or a TLS ClientHello) are returned in `rest` and belong to the protocol. The stream
 * is left paused with our listeners removed.
 */
export function readProxyHeader(stream: Readable, timeoutMs: number): Promise<{ header: ProxyHeader; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      stream.pause();
      fn();
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = parseProxyHeader(buf);
      if (r.kind === 'ok') finish(() => resolve({ header: r.header, rest: buf.subarray(r.consumed) }));
      else if (r.kind === 'error') finish(() => reject(new ProxyError('PROTOCOL', r.message, { bytes: buf.length })));
    };
    const onEnd = () =>
      finish(() => reject(new ProxyError('DISCONNECTED', 'closed before the PROXY header', { bytes: buf.length })));
    const onError = (e: Error) => finish(() => reject(new ProxyError('STREAM_ERROR', e.message, {})));
    const timer = setTimeout(
      () => finish(() => reject(new ProxyError('IDLE_TIMEOUT', 'no PROXY header in time', { ms: timeoutMs }))),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

/** True for the client's TLS as reported in PP2_TYPE_SSL. */
export function proxiedTls(header: ProxyHeader): boolean {
  return header.ssl !== undefined && (header.ssl.client & PP2_CLIENT_SSL) !== 0;
}

/** buf and sig agree on their common length (buf may be shorter or longer). */
function startsLike(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  return buf.subarray(0, n).equals(sig.subarray(0, n));
}

function parseV1(buf: Buffer): ProxyParseResult {
  const window = buf.subarray(0, PROXY_V1_MAX_LENGTH);
  const lf = window.indexOf(0x0a);
  if (lf < 0) return buf.length >= PROXY_V1_MAX_LENGTH ? error('PROXY v1 line too long') : INCOMPLETE;
  if (window[lf - 1] !== 0x0d) return error('PROXY v1 line not terminated by CRLF');
  const line = window.subarray(V1_PREFIX.length, lf - 1).toString('latin1');
  const consumed = lf + 1;
  const fields = line.split(' ');
  const proto = fields[0];
  // the spec tells receivers to ignore whatever follows UNKNOWN
  if (proto === 'UNKNOWN') return { kind: 'ok', header: { version: 1, command: 'PROXY' }, consumed };
  if (proto !== 'TCP4' && proto !== 'TCP6') return error('PROXY v1: unknown protocol');
  if (fields.length !== 5) return error('PROXY v1: wrong number of fields');
  const family = proto === 'TCP4' ? 4 : 6;
  const src = v1Address(fields[1], family);
  const dst = v1Address(fields[2], family);
  const sport = v1Port(fields[3]);
  const dport = v1Port(fields[4]);
  if (src === undefined || dst === undefined) return error(`PROXY v1: invalid ${proto} address`);
  if (sport === undefined || dport === undefined) return error('PROXY v1: invalid port');
  const addresses = { family, source: { ip: src, port: sport }, destination: { ip: dst, port: dport } } as const;
  return { kind: 'ok', header: { version: 1, command: 'PROXY', addresses }, consumed };
}

function v1Address(text: string | undefined, family: 4 | 6): string | undefined {
  if (text === undefined || text.includes('[')) return undefined;
  const ip = parseIp(text);
  return ip && ip.family === family ? ip.text : undefined;
}

function v1Port(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

const FAMILY_UNSPEC = 0x0;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;
const TRANSPORT_STREAM = 0x1;
const ADDRESS_LENGTH: Record<number, number> = { [FAMILY_INET]: 12, [FAMILY_INET6]: 36, [FAMILY_UNIX]: 216 };

function parseV2(buf: Buffer): ProxyParseResult {
  // judge each fixed byte as soon as it arrives: garbage is refused without waiting for a length
  const verCmd = buf[12];
  if (verCmd === undefined) return INCOMPLETE;
  if (verCmd >> 4 !== 2) return error('PROXY v2: unsupported version');
  const command = verCmd & 0x0f;
  if (command > 1) return error('PROXY v2: unknown command');
  const famByte = buf[13];
  if (famByte === undefined) return INCOMPLETE;
  const family = famByte >> 4;
  const transport = famByte & 0x0f;
  if (family > FAMILY_UNIX || transport > 2) return error('PROXY v2: unknown address family or transport');
  if (buf.length < V2_HEADER_LENGTH) return INCOMPLETE;
  const length = buf.readUInt16BE(14);
  if (length > PROXY_V2_MAX_PAYLOAD) return error(`PROXY v2: header length ${length} over ${PROXY_V2_MAX_PAYLOAD}`);
  const addressLength = ADDRESS_LENGTH[family] ?? 0;
  if (command === 1 && length < addressLength) return error('PROXY v2: address block shorter than its family');
  const consumed = V2_HEADER_LENGTH + length;
  if (buf.length < consumed) return INCOMPLETE;
  // LOCAL (health checks) and UNSPEC: the spec says discard the whole block, family and TLVs included
  if (command === 0) return { kind: 'ok', header: { version: 2, command: 'LOCAL' }, consumed };
  if (family === FAMILY_UNSPEC) return { kind: 'ok', header: { version: 2, command: 'PROXY' }, consumed };

  const body = buf.subarray(V2_HEADER_LENGTH, consumed);
  const tlvs = parseTlvs(body.subarray(addressLength));
  if (typeof tlvs === 'string') return error(`PROXY v2: ${tlvs}`);
  const addresses = transport === TRANSPORT_STREAM ? v2Addresses(body, family) : undefined;
  return { kind: 'ok', header: { version: 2, command: 'PROXY', ...(addresses && { addresses }), ...tlvs }, consumed };
}

function v2Addresses(body: Buffer, family: number): ProxyAddresses | undefined {
  if (family === FAMILY_INET) {
    return {
      family: 4,
      source: { ip: body.subarray(0, 4).join('.'), port: body.readUInt16BE(8) },
      destination: { ip: body.subarray(4, 8).join('.'), port: body.readUInt16BE(10) },
    };
  }
  if (family === FAMILY_INET6) {
    return {
      family: 6,
      source: { ip: v6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
      destination: { ip: v6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
    };
  }
  return undefined;
}

function v6(bytes: Buffer): string {
  return parseIp(v6Text(bytes))?.text ?? v6Text(bytes);
}

type TlvInfo = { ssl?: ProxySsl; authority?: string };

/** The TLVs we use; others are skipped. A TLV that overruns its container is an error, not a guess. */
function parseTlvs(area: Buffer): TlvInfo | string {
  const out: { ssl?: ProxySsl; authority?: string } = {};
  const walked = walkTlvs(area, (type, value) => {
    if (type === PP2_TYPE_AUTHORITY) {
      const name = utf8(value);
      if (name === undefined) return 'authority TLV is not UTF-8';
      out.authority = name;
    } else if (type === PP2_TYPE_SSL) {
      const ssl = parseSsl(value);
      if (typeof ssl === 'string') return ssl;
      out.ssl = ssl;
    }
    return undefined;
  });
  return walked ?? out;
}

function parseSsl(value: Buffer): ProxySsl | string {
  if (value.length < 5) return 'SSL TLV too short';
  const ssl: { client: number; verify: number; version?: string; cipher?: string } = {
    client: value[0] as number,
    verify: value.readUInt32BE(1),
  };
  const walked = walkTlvs(value.subarray(5), (type, sub) => {
    if (type !== PP2_SUBTYPE_SSL_VERSION && type !== PP2_SUBTYPE_SSL_CIPHER) return undefined;
    const text = utf8(sub);
    if (text === undefined) return 'SSL sub-TLV is not UTF-8';
    if (type === PP2_SUBTYPE_SSL_VERSION) ssl.version = text;
    else ssl.cipher = text;
    return undefined;
  });
  return walked ?? ssl;
}

/** Calls visit for each TLV; returns the first error (from the framing or from visit). */
function walkTlvs(area: Buffer, visit: (type: number, value: Buffer) => string | undefined): string | undefined {
  let at = 0;
  while (at < area.length) {
    if (area.length - at < 3) return 'truncated TLV';
    const type = area[at] as number;
    const len = area.readUInt16BE(at + 1);
    const end = at + 3 + len;
    if (end > area.length) return 'TLV overruns the header';
    const failure = visit(type, area.subarray(at + 3, end));
    if (failure !== undefined) return failure;
    at = end;
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
