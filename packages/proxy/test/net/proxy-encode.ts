import { parseIp } from '@usher/core';
import { PROXY_V2_SIGNATURE, type ProxyHeader } from '@usher/proxy';

/** A PROXY header as HAProxy would send it, for feeding the parser and real listeners. */

export interface Tlv {
  readonly type: number;
  readonly value: Buffer;
}

export function tlv(type: number, value: Buffer | string): Tlv {
  return { type, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value };
}

export function encodeTlvs(tlvs: readonly Tlv[]): Buffer {
  return Buffer.concat(
    tlvs.map((t) => {
      const head = Buffer.alloc(3);
      head[0] = t.type;
      head.writeUInt16BE(t.value.length, 1);
      return Buffer.concat([head, t.value]);
    }),
  );
}

export function sslTlv(client: number, verify: number, subs: readonly Tlv[] = []): Tlv {
  const head = Buffer.alloc(5);
  head[0] = client;
  head.writeUInt32BE(verify, 1);
  return { type: 0x20, value: Buffer.concat([head, encodeTlvs(subs)]) };
}

export function encodeV1(header: ProxyHeader, unknownTail = ''): Buffer {
  const a = header.addresses;
  if (!a) return Buffer.from(`PROXY UNKNOWN${unknownTail}\r\n`, 'latin1');
  const proto = a.family === 4 ? 'TCP4' : 'TCP6';
  return Buffer.from(
    `PROXY ${proto} ${a.source.ip} ${a.destination.ip} ${a.source.port} ${a.destination.port}\r\n`,
    'latin1',
  );
}

export interface V2Parts {
  readonly command: 'PROXY' | 'LOCAL';
  /** family << 4 | transport */
  readonly famByte: number;
  readonly addressBlock: Buffer;
  readonly tlvs?: readonly Tlv[];
  /** Overrides the computed length field (for oversize tests). */
  readonly lengthField?: number;
}

export function encodeV2Raw(parts: V2Parts): Buffer {
  const body = Buffer.concat([parts.addressBlock, encodeTlvs(parts.tlvs ?? [])]);
  const head = Buffer.alloc(16);
  PROXY_V2_SIGNATURE.copy(head, 0);
  head[12] = parts.command === 'LOCAL' ? 0x20 : 0x21;
  head[13] = parts.famByte;
  head.writeUInt16BE(parts.lengthField ?? body.length, 14);
  return Buffer.concat([head, body]);
}

/** An INET/INET6 stream header with the given TLVs (or LOCAL / UNSPEC when there are no addresses). */
export function encodeV2(header: ProxyHeader, tlvs: readonly Tlv[] = []): Buffer {
  const a = header.addresses;
  if (!a) return encodeV2Raw({ command: header.command, famByte: 0x00, addressBlock: Buffer.alloc(0), tlvs });
  const ipLen = a.family === 4 ? 4 : 16;
  const block = Buffer.alloc(ipLen * 2 + 4);
  ipBytes(a.source.ip, a.family).forEach((b, i) => {
    block[i] = b;
  });
  ipBytes(a.destination.ip, a.family).forEach((b, i) => {
    block[ipLen + i] = b;
  });
  block.writeUInt16BE(a.source.port, ipLen * 2);
  block.writeUInt16BE(a.destination.port, ipLen * 2 + 2);
  return encodeV2Raw({ command: 'PROXY', famByte: a.family === 4 ? 0x11 : 0x21, addressBlock: block, tlvs });
}

function ipBytes(text: string, family: 4 | 6): Uint8Array {
  const ip = parseIp(text);
  if (!ip || ip.family !== family) throw new Error(`test bug: ${text} is not IPv${family}`);
  return ip.bytes;
}
