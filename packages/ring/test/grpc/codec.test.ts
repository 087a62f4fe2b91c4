import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame, type RingFrame } from '../../src/grpc/frames.js';
import { certificateNamesIp, decodeMessage, encodeMessage, FrameError, parseNodeId } from '../../src/grpc/index.js';
import type { RingMessage } from '../../src/index.js';
import { CertDir, comparable, everyKind, host, userBatch } from './helpers.js';

const roundTrip = (m: RingMessage): RingMessage => decodeMessage(encodeMessage(m));

describe('ring codec', () => {
  it('round-trips every message kind', () => {
    for (const m of everyKind()) expect(roundTrip(m)).toEqual(m);
  });

  it('round-trips empty batches, empty lists and default values', () => {
    const empty = userBatch(0, [], []);
    const messages: RingMessage[] = [
      { kind: 'state', hosts: [], users: empty, buckets: [], last: false },
      { kind: 'update', origin: '', seq: 0, hosts: [], users: empty, kicks: [], kickUsers: [] },
      { kind: 'hello', from: '', protocol: 0, members: [], hostsHash: 0, bucketDigests: new Uint32Array(0) },
      { kind: 'ping', sentMs: 0 },
    ];
    for (const m of messages) expect(roundTrip(m)).toEqual(m);
  });

  it('keeps unicode tags, host names and kick users intact', () => {
    const tags = ['', 'ümlaut', '日本語', '✉️ mail', 'a'.repeat(300)];
    const m: RingMessage = {
      kind: 'update',
      origin: '127.0.8.1:1',
      seq: 1,
      hosts: [host('10.0.0.1', { tag: '日本語', hostname: 'bäckend-✓' })],
      users: userBatch(50, tags, ['10.0.0.1']),
      kicks: [{ hash: 5, exceptHost: 'ümlaut-host' }],
      kickUsers: ['jürgen@example.de', '用户'],
    };
    expect(roundTrip(m)).toEqual(m);
  });

  it('moves a million users as a handful of buffers', () => {
    const users = userBatch(1_000_000);
    const m: RingMessage = { kind: 'state', hosts: [host('10.0.0.1')], users, buckets: [1, 2], last: true };
    const t0 = performance.now();
    const bytes = encodeMessage(m);
    const t1 = performance.now();
    const back = decodeMessage(bytes);
    const t2 = performance.now();
    console.log(
      `codec 1M users: ${(bytes.length / 1e6).toFixed(1)} MB, encode ${(t1 - t0).toFixed(0)} ms, decode ${(t2 - t1).toFixed(0)} ms`,
    );
    // 2 + 4 + 2 + 4 + 8 bytes per user, plus framing
    expect(bytes.length).toBeGreaterThan(20_000_000);
    expect(bytes.length).toBeLessThan(20_001_000);
    expect(comparable(back)).toEqual(comparable(m));
  });

  it('decodes into arrays of their own, not views of the frame', () => {
    const m: RingMessage = { kind: 'state', hosts: [], users: userBatch(10), buckets: [], last: true };
    const bytes = encodeMessage(m);
    const back = decodeMessage(bytes);
    bytes.fill(0);
    expect(back).toEqual(m);
  });

  it('refuses to encode what protobuf would silently corrupt', () => {
    const bad: RingMessage[] = [
      { kind: 'update', origin: 'x', seq: 1.5, hosts: [], users: userBatch(0), kicks: [], kickUsers: [] },
      { kind: 'state', hosts: [host('10.0.0.1', { vhostCount: -1 })], users: userBatch(0), buckets: [], last: true },
      { kind: 'state', hosts: [], users: userBatch(0), buckets: [2 ** 32], last: true },
      {
        kind: 'update',
        origin: 'x',
        seq: 1,
        hosts: [],
        users: userBatch(0),
        kicks: [{ hash: -1, exceptHost: '' }],
        kickUsers: [],
      },
      { kind: 'state', hosts: [], users: { ...userBatch(3), hashes: new Uint32Array(2) }, buckets: [], last: true },
    ];
    for (const m of bad) expect(() => encodeMessage(m)).toThrow(RangeError);
  });

  it('refuses frames a peer got wrong', () => {
    const users = {
      tags: ['t'],
      hostIps: ['10.0.0.1'],
      tagIndex: u8([0, 0]),
      hashes: u8([1, 0, 0, 0]),
      hostIndex: u8([0, 0]),
      timestamps: u8([1, 0, 0, 0]),
      epochMs: u8(new Array(8).fill(0)),
    };
    const state = (u: typeof users): RingFrame => ({
      body: 'state',
      state: { hosts: [], users: u, buckets: [], last: true },
    });
    // the well-formed one decodes, so the failures below are about the one field each breaks
    expect(decodeMessage(encodeFrame(state(users))).kind).toBe('state');
    const bad: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff]),
      Buffer.alloc(0),
      encodeFrame(state({ ...users, tagIndex: u8([1, 0]) })),
      encodeFrame(state({ ...users, hostIndex: u8([0, 1]) })),
      encodeFrame(state({ ...users, hashes: u8([1, 0, 0]) })),
      encodeFrame(state({ ...users, timestamps: u8([]) })),
      encodeFrame({
        body: 'state',
        state: { hosts: [{ ...host('10.0.0.1'), version: null }], users, buckets: [], last: true },
      }),
      encodeFrame({
        body: 'update',
        update: {
          origin: '',
          seq: 0,
          hosts: [],
          users: null,
          kickUsers: [],
          kicks: { hashes: u8([1, 0, 0, 0]), exceptIndex: u8([1, 0]), exceptHosts: [''] },
        },
      }),
    ];
    for (const bytes of bad) expect(() => decodeMessage(bytes)).toThrow(FrameError);
  });
});

describe('node identity', () => {
  const certs = new CertDir(['127.0.8.1', 'fd00::8']);
  afterAll(() => certs.remove());

  it('parses node ids and refuses ambiguous ones', () => {
    expect(parseNodeId('127.0.8.1:4000')).toEqual({ ip: '127.0.8.1', port: 4000 });
    expect(parseNodeId('[fd00::1]:4000')).toEqual({ ip: 'fd00::1', port: 4000 });
    for (const bad of [
      'fd00::1:4000',
      '127.0.8.1',
      '127.0.8.1:0',
      '127.0.8.1:70000',
      'host:1',
      '[fd00::1]4000',
      '127.0.8.1:1x',
    ]) {
      expect(() => parseNodeId(bad), bad).toThrow(RangeError);
    }
  });

  it('matches a certificate by SAN IP, IPv6 spelling aside, or by a CN that is the IP', () => {
    const v4 = peerCert(certs.file('127.0.8.1.pem'));
    expect(certificateNamesIp(v4, '127.0.8.1')).toBe(true);
    expect(certificateNamesIp(v4, '127.0.8.2')).toBe(false);
    const v6 = peerCert(certs.file('fd00::8.pem'));
    expect(certificateNamesIp(v6, 'fd00:0:0::8')).toBe(true);
    expect(certificateNamesIp(v6, 'fd00::9')).toBe(false);

    const key = join(certs.dir, 'cn-only.key');
    const pem = execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-subj',
        '/CN=127.0.8.9',
        '-days',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const cnOnly = peerCert(pem);
    expect(certificateNamesIp(cnOnly, '127.0.8.9')).toBe(true);
    expect(certificateNamesIp(cnOnly, '127.0.8.1')).toBe(false);
  });
});

function u8(bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

/** The fields certificateNamesIp reads, as a TLS socket would report them. */
function peerCert(pem: Buffer): PeerCertificate {
  const x = new X509Certificate(pem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? '';
  return { raw: x.raw, subject: { CN: cn }, subjectaltname: x.subjectAltName } as unknown as PeerCertificate;
}
