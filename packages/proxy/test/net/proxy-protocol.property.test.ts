import { PassThrough } from 'node:stream';
import { parseIp } from '@usher/core';
import {
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_MAX_PAYLOAD,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
  type ProxySsl,
  parseProxyHeader,
  readProxyHeader,
  v6Text,
} from '@usher/proxy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeV1, encodeV2, encodeV2Raw, sslTlv, type Tlv, tlv } from './proxy-encode.js';

const port = fc.integer({ min: 0, max: 65535 });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
// random bytes, but also the shapes inet_ntop prints specially (::ffff:a.b.c.d, ::a.b.c.d, runs of zeros)
const v6 = fc
  .oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc
      .uint8Array({ minLength: 4, maxLength: 4 })
      .map((b) => Uint8Array.from([...new Array(10).fill(0), 255, 255, ...b])),
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }).map((w) => {
      const out = new Uint8Array(16);
      w.forEach((x, i) => {
        out[i * 2] = x >> 8;
        out[i * 2 + 1] = x & 0xff;
      });
      return out;
    }),
  )
  .map((b) => parseIp(v6Text(b))?.text as string);

const addresses = fc.oneof(
  fc.record({
    family: fc.constant(4 as const),
    source: fc.record({ ip: v4, port }),
    destination: fc.record({ ip: v4, port }),
  }),
  fc.record({
    family: fc.constant(6 as const),
    source: fc.record({ ip: v6, port }),
    destination: fc.record({ ip: v6, port }),
  }),
);

const v1Header: fc.Arbitrary<ProxyHeader> = fc.option(addresses, { nil: undefined }).map((a) => ({
  version: 1,
  command: 'PROXY',
  ...(a && { addresses: a }),
}));

// any code point: at most 120 UTF-8 bytes, so every generated header stays under the length bound
const text = fc.string({ maxLength: 30, unit: 'binary' });
const ssl: fc.Arbitrary<ProxySsl> = fc.record(
  {
    client: fc.integer({ min: 0, max: 255 }),
    verify: fc.integer({ min: 0, max: 0xffffffff }),
    version: text,
    cipher: text,
  },
  { requiredKeys: ['client', 'verify'] },
);
const unknownTlv = fc
  .record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 30 }) })
  .filter((t) => t.type !== 0x02 && t.type !== 0x20)
  .map((t): Tlv => ({ type: t.type, value: Buffer.from(t.value) }));

/** A v2 header plus the wire form HAProxy could have sent for it (unknown TLVs mixed in). */
const v2Case = fc
  .record({
    addresses,
    ssl: fc.option(ssl, { nil: undefined }),
    authority: fc.option(text, { nil: undefined }),
    noise: fc.array(unknownTlv, { maxLength: 4 }),
    shape: fc.constantFrom('inet', 'inet', 'local', 'unspec', 'unix'),
  })
  .map(({ addresses: a, ssl: s, authority, noise, shape }) => {
    const tlvs: Tlv[] = [...noise];
    if (s) {
      const subs = [
        ...(s.version !== undefined ? [tlv(0x21, s.version)] : []),
        ...(s.cipher !== undefined ? [tlv(0x23, s.cipher)] : []),
      ];
      tlvs.splice(noise.length > 0 ? 1 : 0, 0, sslTlv(s.client, s.verify, subs));
    }
    if (authority !== undefined) tlvs.push(tlv(0x02, authority));
    const info = { ...(s && { ssl: s }), ...(authority !== undefined && { authority }) };
    if (shape === 'local') {
      return {
        wire: encodeV2Raw({ command: 'LOCAL', famByte: 0x11, addressBlock: Buffer.alloc(12), tlvs }),
        header: { version: 2, command: 'LOCAL' } as ProxyHeader,
      };
    }
    if (shape === 'unspec') {
      return {
        wire: encodeV2Raw({ command: 'PROXY', famByte: 0x00, addressBlock: Buffer.alloc(0), tlvs }),
        header: { version: 2, command: 'PROXY' } as ProxyHeader,
      };
    }
    if (shape === 'unix') {
      const wire = encodeV2Raw({ command: 'PROXY', famByte: 0x31, addressBlock: Buffer.alloc(216, 0x41), tlvs });
      return { wire, header: { version: 2, command: 'PROXY', ...info } as ProxyHeader };
    }
    const header: ProxyHeader = { version: 2, command: 'PROXY', addresses: a, ...info };
    return { wire: encodeV2(header, tlvs), header };
  });

const anyCase = fc.oneof(
  v1Header.map((header) => ({ header, wire: encodeV1(header) })),
  v2Case,
);

const trailing = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));

/** Cut points that split `length` bytes into chunks. */
const cuts = (length: number) =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 12 })
    .map((c) => c.sort((x, y) => x - y));

describe('PROXY header round trip', () => {
  it('every prefix is incomplete; the whole gives the header back, trailing bytes untouched', () => {
    fc.assert(
      fc.property(anyCase, trailing, ({ header, wire }, tail) => {
        for (let n = 0; n < wire.length; n++) expect(parseProxyHeader(wire.subarray(0, n)).kind).toBe('incomplete');
        const r = parseProxyHeader(Buffer.concat([wire, tail]));
        expect(r).toEqual({ kind: 'ok', header, consumed: wire.length });
      }),
      { numRuns: 300 },
    );
  });

  it('readProxyHeader gives the same for any split into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyCase.chain((c) => fc.record({ c: fc.constant(c), tail: trailing, cut: cuts(c.wire.length + 8) })),
        async ({ c, tail, cut }) => {
          const bytes = Buffer.concat([c.wire, tail]);
          const s = new PassThrough();
          const p = readProxyHeader(s, 2000);
          let from = 0;
          for (const at of [...cut, bytes.length]) {
            if (at <= from || at > bytes.length) continue;
            s.write(bytes.subarray(from, at));
            from = at;
            await new Promise((r) => setImmediate(r));
          }
          const { header, rest } = await p;
          expect(header).toEqual(c.header);
          // chunks that arrived after the header was complete stay unread in the stream
          expect(Buffer.concat([rest, ...drain(s)]).equals(tail)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

function drain(s: PassThrough): Buffer[] {
  const out: Buffer[] = [];
  for (let chunk = s.read(); chunk !== null; chunk = s.read()) out.push(chunk as Buffer);
  return out;
}

/** What any 'ok' must satisfy, whatever bytes produced it. */
function checkSane(buf: Buffer): void {
  const r = parseProxyHeader(buf);
  if (r.kind === 'incomplete') {
    // never waits past the largest header it could accept
    expect(buf.length).toBeLessThan(Math.max(PROXY_V1_MAX_LENGTH, 16 + PROXY_V2_MAX_PAYLOAD));
    return;
  }
  if (r.kind === 'error') {
    expect(typeof r.message).toBe('string');
    // an error stays an error however many bytes follow
    expect(parseProxyHeader(Buffer.concat([buf, Buffer.from('\r\nmore')])).kind).toBe('error');
    return;
  }
  const { header, consumed } = r;
  expect(Number.isInteger(consumed)).toBe(true);
  expect(consumed).toBeLessThanOrEqual(buf.length);
  if (header.version === 1) {
    expect(consumed).toBeLessThanOrEqual(PROXY_V1_MAX_LENGTH);
    expect(buf.subarray(consumed - 2, consumed).toString('latin1')).toBe('\r\n');
  } else expect(consumed).toBeLessThanOrEqual(16 + PROXY_V2_MAX_PAYLOAD);
  const a = header.addresses;
  if (a) {
    for (const end of [a.source, a.destination]) {
      expect(Number.isInteger(end.port) && end.port >= 0 && end.port <= 65535).toBe(true);
      const ip = parseIp(end.ip);
      expect(ip?.family).toBe(a.family);
      expect(ip?.text).toBe(end.ip);
    }
  }
  if (header.ssl) {
    expect(Number.isInteger(header.ssl.client) && header.ssl.client >= 0 && header.ssl.client <= 255).toBe(true);
    expect(Number.isInteger(header.ssl.verify) && header.ssl.verify >= 0 && header.ssl.verify <= 0xffffffff).toBe(true);
  }
  // the verdict depends on the header bytes only
  expect(parseProxyHeader(buf.subarray(0, consumed))).toEqual(r);
}

const mutation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(wire: Buffer, ops: readonly { op: string; at: number; byte: number }[]): Buffer {
  const bytes = [...wire];
  for (const { op, at, byte } of ops) {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (op === 'set' && bytes.length > 0) bytes[i] = byte;
    else if (op === 'delete') bytes.splice(i, 1);
    else if (op === 'insert') bytes.splice(i, 0, byte);
    else if (op === 'truncate') bytes.length = i;
  }
  return Buffer.from(bytes);
}

describe('PROXY parser on hostile input', () => {
  it('random bytes (often behind a valid signature) never throw or give nonsense', () => {
    const prefix = fc.constantFrom(
      Buffer.alloc(0),
      PROXY_V2_SIGNATURE,
      Buffer.from('PROXY '),
      Buffer.from('PROXY TCP4 '),
    );
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 300 }), (p, rest) => {
        checkSane(Buffer.concat([p, rest]));
      }),
      { numRuns: 2000 },
    );
  });

  it('v1 lines assembled from plausible and implausible fields never give nonsense', () => {
    const junk = fc.oneof(
      fc.constantFrom('', ' ', '[::1]', '01.2.3.4', '1.2.3', '::ffff:1.2.3.4'),
      fc.stringMatching(/^[0-9a-fA-F:.]{1,45}$/),
    );
    const proto = fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', 'TCP5', 'tcp4');
    const ip = fc.oneof(v4, v6, junk);
    const portText = fc.oneof(port.map(String), fc.stringMatching(/^[0-9]{1,7}$/), junk);
    const fieldsArb = fc.oneof(
      fc.tuple(proto, ip, ip, portText, portText),
      fc.array(fc.oneof(proto, ip, portText), { maxLength: 7 }),
    );
    const ending = fc.constantFrom('\r\n', '\r\n', '\n', '\r', '', '\r\r\n');
    fc.assert(
      fc.property(fieldsArb, ending, (fields, end) => {
        checkSane(Buffer.from(`PROXY ${fields.join(' ')}${end}`, 'latin1'));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid headers never throw or give nonsense', () => {
    fc.assert(
      fc.property(anyCase, fc.array(mutation, { minLength: 1, maxLength: 4 }), trailing, (c, ops, tail) => {
        checkSane(Buffer.concat([mutate(c.wire, ops), tail]));
      }),
      { numRuns: 2000 },
    );
  });

  it('any declared v2 length over the bound is refused from the fixed 16 bytes alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: PROXY_V2_MAX_PAYLOAD + 1, max: 0xffff }),
        fc.constantFrom(0x00, 0x11, 0x21, 0x31),
        fc.constantFrom<'PROXY' | 'LOCAL'>('PROXY', 'LOCAL'),
        (lengthField, famByte, command) => {
          const head = encodeV2Raw({ command, famByte, addressBlock: Buffer.alloc(0), lengthField });
          expect(parseProxyHeader(head).kind).toBe('error');
        },
      ),
    );
  });
});
