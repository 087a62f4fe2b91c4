import { PassThrough } from 'node:stream';
import {
  PROXY_V2_MAX_PAYLOAD,
  PROXY_V2_SIGNATURE,
  type ProxyParseResult,
  parseProxyHeader,
  proxiedTls,
  readProxyHeader,
} from '@usher/proxy';
import { describe, expect, it } from 'vitest';
import { encodeV2, encodeV2Raw, sslTlv, tlv } from './proxy-encode.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function ok(r: ProxyParseResult) {
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

describe('parseProxyHeader v1', () => {
  it('parses TCP4 and reports the bytes it used', () => {
    const r = ok(parseProxyHeader(b('PROXY TCP4 192.0.2.1 198.51.100.2 51000 143\r\nA1 CAPABILITY\r\n')));
    expect(r.consumed).toBe('PROXY TCP4 192.0.2.1 198.51.100.2 51000 143\r\n'.length);
    expect(r.header).toEqual({
      version: 1,
      command: 'PROXY',
      addresses: {
        family: 4,
        source: { ip: '192.0.2.1', port: 51000 },
        destination: { ip: '198.51.100.2', port: 143 },
      },
    });
  });

  it('parses TCP6 into canonical text', () => {
    const r = ok(parseProxyHeader(b('PROXY TCP6 2001:DB8:0:0::1 ::FFFF:192.0.2.9 1 65535\r\n')));
    expect(r.header.addresses).toEqual({
      family: 6,
      source: { ip: '2001:db8::1', port: 1 },
      destination: { ip: '::ffff:192.0.2.9', port: 65535 },
    });
  });

  it('UNKNOWN means the socket addresses, whatever follows it', () => {
    expect(ok(parseProxyHeader(b('PROXY UNKNOWN\r\n'))).header).toEqual({ version: 1, command: 'PROXY' });
    const line = 'PROXY UNKNOWN ffff:: ffff:: 1 2\r\n';
    expect(ok(parseProxyHeader(b(`${line}a1 NOOP\r\n`))).consumed).toBe(line.length);
  });

  it.each([
    ['wrong family', 'PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n'],
    ['TCP6 with v4', 'PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n'],
    ['port too big', 'PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n'],
    ['negative port', 'PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n'],
    ['missing field', 'PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n'],
    ['double space', 'PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n'],
    ['bare LF', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n'],
    ['UNKNOWN with a bare LF', 'PROXY UNKNOWN\n'],
    ['unknown protocol', 'PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n'],
    ['bad octet', 'PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n'],
    ['lower case', 'proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n'],
  ])('rejects %s', (_name, text) => {
    expect(parseProxyHeader(b(text)).kind).toBe('error');
  });

  it('waits for a line that may still come, up to 107 bytes', () => {
    expect(parseProxyHeader(b('')).kind).toBe('incomplete');
    expect(parseProxyHeader(b('PRO')).kind).toBe('incomplete');
    expect(parseProxyHeader(b('PROXY TCP4 192.0.2.1')).kind).toBe('incomplete');
    expect(parseProxyHeader(b(`PROXY ${'x'.repeat(100)}`)).kind).toBe('incomplete');
    expect(parseProxyHeader(b(`PROXY ${'x'.repeat(101)}`)).kind).toBe('error');
  });

  it('rejects anything else at the first wrong byte', () => {
    expect(parseProxyHeader(b('A')).kind).toBe('error');
    expect(parseProxyHeader(b('PROXX')).kind).toBe('error');
    expect(parseProxyHeader(b('\r\n\r\nX')).kind).toBe('error');
  });
});

describe('parseProxyHeader v2', () => {
  const inet = {
    version: 2,
    command: 'PROXY',
    addresses: { family: 4, source: { ip: '203.0.113.7', port: 40000 }, destination: { ip: '192.0.2.10', port: 993 } },
  } as const;

  it('parses AF_INET with SSL and authority TLVs, skipping unknown ones', () => {
    const tlvs = [
      tlv(0x04, Buffer.alloc(7)), // NOOP
      sslTlv(0x01 | 0x02, 0, [tlv(0x21, 'TLSv1.3'), tlv(0x23, 'TLS_AES_128_GCM_SHA256'), tlv(0x25, 'RSA2048')]),
      tlv(0x02, 'imap.example.org'),
      tlv(0xe0, 'custom'),
    ];
    const wire = encodeV2(inet, tlvs);
    const r = ok(parseProxyHeader(Buffer.concat([wire, b('rest')])));
    expect(r.consumed).toBe(wire.length);
    expect(r.header).toEqual({
      ...inet,
      authority: 'imap.example.org',
      ssl: { client: 3, verify: 0, version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' },
    });
    expect(proxiedTls(r.header)).toBe(true);
  });

  it('an SSL TLV without the client-SSL bit is not TLS', () => {
    const r = ok(parseProxyHeader(encodeV2(inet, [sslTlv(0x00, 1)])));
    expect(proxiedTls(r.header)).toBe(false);
  });

  it('parses AF_INET6 addresses canonically', () => {
    const header = {
      version: 2,
      command: 'PROXY',
      addresses: {
        family: 6,
        source: { ip: '2001:db8::5', port: 1 },
        destination: { ip: '::ffff:192.0.2.1', port: 2 },
      },
    } as const;
    expect(ok(parseProxyHeader(encodeV2(header))).header).toEqual(header);
  });

  it('LOCAL discards the block, family and TLVs included', () => {
    const wire = encodeV2Raw({ command: 'LOCAL', famByte: 0x11, addressBlock: Buffer.alloc(3), tlvs: [tlv(0x20, '')] });
    expect(ok(parseProxyHeader(wire))).toEqual({
      kind: 'ok',
      header: { version: 2, command: 'LOCAL' },
      consumed: wire.length,
    });
  });

  it('AF_UNIX and AF_UNSPEC carry no usable addresses but AF_UNIX still has TLVs', () => {
    const unix = encodeV2Raw({
      command: 'PROXY',
      famByte: 0x31,
      addressBlock: Buffer.alloc(216),
      tlvs: [sslTlv(1, 0)],
    });
    expect(ok(parseProxyHeader(unix)).header).toEqual({ version: 2, command: 'PROXY', ssl: { client: 1, verify: 0 } });
    const unspec = encodeV2Raw({ command: 'PROXY', famByte: 0x00, addressBlock: Buffer.alloc(5) });
    expect(ok(parseProxyHeader(unspec)).header).toEqual({ version: 2, command: 'PROXY' });
  });

  it('datagram addresses fall back to the socket addresses', () => {
    const udp = encodeV2Raw({ command: 'PROXY', famByte: 0x12, addressBlock: Buffer.alloc(12) });
    expect(ok(parseProxyHeader(udp)).header.addresses).toBeUndefined();
  });

  it.each([
    ['version 1 in the binary form', (w: Buffer) => w.writeUInt8(0x11, 12)],
    ['command 2', (w: Buffer) => w.writeUInt8(0x22, 12)],
    ['family 4', (w: Buffer) => w.writeUInt8(0x41, 13)],
    ['transport 3', (w: Buffer) => w.writeUInt8(0x13, 13)],
    ['address block too short', (w: Buffer) => w.writeUInt16BE(11, 14)],
  ])('rejects %s', (_name, mutate) => {
    const wire = encodeV2(inet);
    mutate(wire);
    expect(parseProxyHeader(wire).kind).toBe('error');
  });

  it('rejects TLVs that overrun the header or the SSL TLV', () => {
    const overrun = encodeV2Raw({
      command: 'PROXY',
      famByte: 0x11,
      addressBlock: Buffer.alloc(12),
      tlvs: [tlv(1, 'ab')],
    });
    overrun.writeUInt16BE(3, 16 + 12 + 1);
    expect(parseProxyHeader(overrun).kind).toBe('error');
    const truncated = encodeV2Raw({ command: 'PROXY', famByte: 0x11, addressBlock: Buffer.alloc(14) });
    expect(parseProxyHeader(truncated).kind).toBe('error');
    const shortSsl = encodeV2(inet, [tlv(0x20, Buffer.alloc(4))]);
    expect(parseProxyHeader(shortSsl).kind).toBe('error');
    const badSub = sslTlv(1, 0, [tlv(0x21, 'x')]);
    badSub.value.writeUInt16BE(9, 6);
    expect(parseProxyHeader(encodeV2(inet, [badSub])).kind).toBe('error');
    expect(parseProxyHeader(encodeV2(inet, [tlv(0x02, Buffer.from([0xff, 0xfe]))])).kind).toBe('error');
  });

  it('refuses an oversized declared length from the first 16 bytes', () => {
    const head = encodeV2Raw({ command: 'PROXY', famByte: 0x11, addressBlock: Buffer.alloc(0), lengthField: 0xffff });
    expect(parseProxyHeader(head.subarray(0, 16)).kind).toBe('error');
    const atLimit = encodeV2Raw({
      command: 'PROXY',
      famByte: 0x11,
      addressBlock: Buffer.alloc(0),
      lengthField: PROXY_V2_MAX_PAYLOAD,
    });
    expect(parseProxyHeader(atLimit.subarray(0, 16)).kind).toBe('incomplete');
  });

  it('waits on a prefix of the signature and of the fixed part', () => {
    for (let n = 0; n < 16; n++) {
      expect(parseProxyHeader(encodeV2(inet).subarray(0, n)).kind, `prefix ${n}`).toBe('incomplete');
    }
    expect(parseProxyHeader(PROXY_V2_SIGNATURE.subarray(0, 7)).kind).toBe('incomplete');
  });
});

describe('readProxyHeader', () => {
  it('returns the header and hands back the bytes after it', async () => {
    const s = new PassThrough();
    const p = readProxyHeader(s, 1000);
    s.write(b('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r'));
    s.write(b('\na1 NOOP\r\n'));
    const { header, rest } = await p;
    expect(header.addresses?.source).toEqual({ ip: '192.0.2.1', port: 1 });
    expect(rest.toString()).toBe('a1 NOOP\r\n');
    expect(s.listenerCount('data')).toBe(0);
  });

  it('rejects garbage, a timeout and an early close with ProxyErrors', async () => {
    const garbage = new PassThrough();
    const p1 = readProxyHeader(garbage, 1000);
    garbage.write(b('GET / HTTP/1.0\r\n'));
    await expect(p1).rejects.toMatchObject({ code: 'PROTOCOL' });
    await expect(readProxyHeader(new PassThrough(), 50)).rejects.toMatchObject({ code: 'IDLE_TIMEOUT' });
    const early = new PassThrough();
    const p3 = readProxyHeader(early, 1000);
    early.end(b('PROXY TCP4'));
    await expect(p3).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('rejects a huge declared length at once, without waiting for the bytes', async () => {
    const s = new PassThrough();
    const started = Date.now();
    const p = readProxyHeader(s, 10_000);
    s.write(encodeV2Raw({ command: 'PROXY', famByte: 0x21, addressBlock: Buffer.alloc(0), lengthField: 0xffff }));
    await expect(p).rejects.toMatchObject({ code: 'PROTOCOL' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
