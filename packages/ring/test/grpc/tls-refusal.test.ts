import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { RefusalLog, sourceIp } from '../../src/grpc/refusal-log.js';
import { CertDir, type LogEntry, recordingLog, transportFactory, waitFor } from './helpers.js';

// This file owns ports 47300-47399 on 127.0.35.1-127.0.35.9; the other gRPC test files use other ports.
let nextPort = 47300;
const ids = (...ips: string[]) => {
  const port = nextPort++;
  return ips.map((ip) => `${ip}:${port}`);
};
const portOf = (id: string) => Number(id.slice(id.lastIndexOf(':') + 1));

const certs = new CertDir(['127.0.35.1', '127.0.35.2']);
// Same CA, but already expired when made: the deploy script with NODE_DAYS=-1.
certs.add(['127.0.35.3'], { NODE_DAYS: '-1' });
const strangers = new CertDir(['127.0.35.2']);
afterAll(() => {
  certs.remove();
  strangers.remove();
});

const { transport, listening } = transportFactory(certs);

const refusals = (entries: readonly LogEntry[]) => entries.filter((e) => e.message === 'ring peer refused');

async function refusedOnce(entries: readonly LogEntry[]): Promise<LogEntry> {
  await waitFor('the refusal in the log', () => refusals(entries).length > 0);
  const [line, ...more] = refusals(entries);
  expect(more).toEqual([]);
  expect(line?.level).toBe('warn');
  return line as LogEntry;
}

/** A TLS client that shows no certificate, from a source address of our choice; resolves when closed. */
function bareTlsClient(target: string, localAddress: string): Promise<{ received: number; port: number }> {
  return new Promise((resolve) => {
    let received = 0;
    const tcp = tcpConnect({ host: target.slice(0, target.lastIndexOf(':')), port: portOf(target), localAddress });
    const socket = tlsConnect({
      socket: tcp,
      ca: certs.file('ca.pem'),
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    let port = 0;
    tcp.on('connect', () => {
      port = tcp.localPort ?? 0;
    });
    // HTTP/2's connection preface: what a gRPC client sends first, and must get no answer to.
    socket.on('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ received, port }));
  });
}

describe('the ring refuses and logs peers without a valid certificate', () => {
  it('a client certificate from another CA', async () => {
    const members = ids('127.0.35.1', '127.0.35.2');
    const server = await listening(members[0] as string, members);
    // Trusts the cluster CA (it is public) but can only show a certificate from its own.
    const intruder = transport(members[1] as string, members, {
      tls: { ...strangers.tls('127.0.35.2'), ca: certs.file('ca.pem') },
    });
    await expect(intruder.t.connect(server.t.self)).rejects.toThrow(/ring link to .* failed: UNAVAILABLE/);
    expect(server.inbound).toHaveLength(0);
    const line = await refusedOnce(server.log.entries);
    // grpc-js dials from the loopback default source, 127.0.0.1
    expect(line.fields).toMatchObject({ from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(line.fields?.reason).toBe(
      'tls handshake failed: unable to verify the first certificate (not issued by the ring CA)',
    );
    expect(line.fields).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(String(line.fields?.certificate)).toContain('127.0.35.2');
  });

  it('an expired certificate from the ring CA', async () => {
    const [serverId, expiredId] = ids('127.0.35.1', '127.0.35.3') as [string, string];
    const server = await listening(serverId, [serverId, expiredId]);
    const expired = transport(expiredId, [serverId, expiredId]);
    await expect(expired.t.connect(serverId)).rejects.toThrow(/UNAVAILABLE/);
    expect(server.inbound).toHaveLength(0);
    const line = await refusedOnce(server.log.entries);
    expect(line.fields).toMatchObject({
      reason: 'tls handshake failed: certificate has expired',
      code: 'CERT_HAS_EXPIRED',
    });
  });

  it('a gRPC client without a certificate', async () => {
    const [serverId, clientId] = ids('127.0.35.1', '127.0.35.2') as [string, string];
    const server = await listening(serverId, [serverId, clientId]);
    const client = new grpc.Client(
      `ipv4:${serverId}`,
      grpc.credentials.createSsl(certs.file('ca.pem'), null, null, {
        checkServerIdentity: () => undefined,
      }),
      {
        'grpc.ssl_target_name_override': 'usher-ring.invalid',
      },
    );
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-usher-node', clientId);
      const raw = (b: Buffer) => b;
      const call = client.makeBidiStreamRequest<Buffer, Buffer>('/usher.v1.Ring/Link', raw, raw, metadata);
      call.on('error', () => {});
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      expect(status.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
    expect(server.inbound).toHaveLength(0);
    const line = await refusedOnce(server.log.entries);
    expect(line.fields).toMatchObject({ reason: 'tls handshake failed: no client certificate' });
  });

  it('names the source address, and the peer gets no HTTP/2 byte', async () => {
    const [serverId] = ids('127.0.35.1') as [string];
    const server = await listening(serverId, [serverId]);
    const { received, port } = await bareTlsClient(serverId, '127.0.35.9');
    expect(received).toBe(0);
    const line = await refusedOnce(server.log.entries);
    expect(line.fields).toMatchObject({
      from: `127.0.35.9:${port}`,
      reason: 'tls handshake failed: no client certificate',
    });
  });

  it('something that does not speak TLS, and a handshake that never comes', async () => {
    const [serverId] = ids('127.0.35.1') as [string];
    const server = await listening(serverId, [serverId], { handshakeTimeoutMs: 200 });
    const talk = (first: string | undefined) =>
      new Promise<void>((resolve) => {
        const s = tcpConnect({ host: '127.0.35.1', port: portOf(serverId), localAddress: '127.0.35.8' });
        s.on('connect', () => (first === undefined ? undefined : s.write(first)));
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    await talk('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('refusal', () => refusals(server.log.entries).length === 1);
    expect(refusals(server.log.entries)[0]?.fields).toMatchObject({
      from: expect.stringMatching(/^127\.0\.35\.8:\d+$/),
      reason: 'tls handshake failed: http request',
    });
    const t0 = Date.now();
    await talk(undefined); // says nothing: cut after handshakeTimeoutMs
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor('second refusal', () => refusals(server.log.entries).length === 2);
    expect(refusals(server.log.entries)[1]?.fields).toMatchObject({
      reason: 'tls handshake failed: no handshake within 200 ms',
    });
  });

  it('a TCP connection closed before its first byte is only a debug line (probes, port scans)', async () => {
    const [serverId] = ids('127.0.35.1') as [string];
    const server = await listening(serverId, [serverId]);
    await new Promise<void>((resolve) => {
      const s = tcpConnect({ host: '127.0.35.1', port: portOf(serverId), localAddress: '127.0.35.7' });
      s.on('connect', () => s.end());
      s.on('close', () => resolve());
    });
    await waitFor('debug line', () =>
      server.log.entries.some(
        (e) => e.level === 'debug' && e.message === 'ring connection closed before its tls handshake',
      ),
    );
    expect(refusals(server.log.entries)).toEqual([]);
  });

  it('a valid certificate whose node is not a member (refused per call, same log line)', async () => {
    const [serverId, outsiderId] = ids('127.0.35.1', '127.0.35.2') as [string, string];
    const server = await listening(serverId, [serverId]);
    const outsider = transport(outsiderId, [serverId, outsiderId]);
    await expect(outsider.t.connect(serverId)).rejects.toThrow(/PERMISSION_DENIED .*not a ring member/);
    const line = await refusedOnce(server.log.entries);
    expect(line.fields).toMatchObject({ claimed: outsiderId, reason: `${outsiderId} is not a ring member` });
  });

  it('rate-limits the log per source, and still admits members', async () => {
    const [serverId, memberId] = ids('127.0.35.1', '127.0.35.2') as [string, string];
    const server = await listening(serverId, [serverId, memberId], {
      refusalLogLimits: { perWindow: 2, windowMs: 2500 },
    });
    for (let i = 0; i < 6; i++) await bareTlsClient(serverId, '127.0.35.9');
    await bareTlsClient(serverId, '127.0.35.6');
    await waitFor('both sources', () => refusals(server.log.entries).length === 3);
    await new Promise((r) => setTimeout(r, 100)); // nothing more comes
    const lines = refusals(server.log.entries).map((e) => e.fields);
    expect(lines.map((f) => sourceIp(String(f?.from)))).toEqual(['127.0.35.9', '127.0.35.9', '127.0.35.6']);
    expect(lines[0]?.rateLimited).toBeUndefined();
    expect(lines[1]?.rateLimited).toBe(true);
    // a member still links while the scanner is being refused
    const member = transport(memberId, [serverId, memberId]);
    await member.t.connect(serverId);
    await waitFor('inbound', () => server.inbound.length === 1);

    await new Promise((r) => setTimeout(r, 2500));
    await bareTlsClient(serverId, '127.0.35.9');
    await waitFor('next window', () => refusals(server.log.entries).length === 4);
    expect(refusals(server.log.entries)[3]?.fields).toMatchObject({ suppressed: 4 });
  });
});

describe('RefusalLog', () => {
  it('logs perWindow lines per source, counts the rest, and bounds the sources it remembers', () => {
    const log = recordingLog();
    let now = 0;
    const refusals = new RefusalLog(log, { perWindow: 2, windowMs: 1000, maxSources: 2 }, () => now);
    for (let i = 0; i < 5; i++) refusals.refused(`10.0.0.1:${1000 + i}`, 'r');
    expect(log.entries.map((e) => e.fields)).toEqual([
      { from: '10.0.0.1:1000', reason: 'r' },
      { from: '10.0.0.1:1001', reason: 'r', rateLimited: true },
    ]);
    now = 999;
    refusals.refused('10.0.0.1:1', 'r');
    expect(log.entries).toHaveLength(2);
    now = 1000;
    refusals.refused('10.0.0.1:2', 'r', { code: 'X' });
    expect(log.entries[2]?.fields).toEqual({ from: '10.0.0.1:2', reason: 'r', code: 'X', suppressed: 4 });

    // 10.0.0.1 still in its window: the table is full, so new sources share one budget
    refusals.refused('[fd00::2]:7', 'r');
    for (let i = 0; i < 5; i++) refusals.refused(`10.9.9.${i}:1`, 'r');
    expect(log.entries.slice(3).map((e) => sourceIp(String(e.fields?.from)))).toEqual([
      'fd00::2',
      '10.9.9.0',
      '10.9.9.1',
    ]);
  });

  it('sourceIp', () => {
    expect(sourceIp('1.2.3.4:5')).toBe('1.2.3.4');
    expect(sourceIp('[::1]:5')).toBe('::1');
    expect(sourceIp('::ffff:1.2.3.4:5')).toBe('::ffff:1.2.3.4');
    expect(sourceIp('1.2.3.4')).toBe('1.2.3.4');
  });
});
