import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GrpcTransport, type GrpcTransportOptions, measureGrpcRoundTrip } from '../../src/grpc/index.js';
import type { RingLink, RingMessage } from '../../src/index.js';
import { CertDir, comparable, host, observe, Relay, recordingLog, userBatch, waitFor } from './helpers.js';

// This file owns ports 47200-47299 on 127.0.8.1-127.0.8.6; the other gRPC test files use other ports.
let nextPort = 47200;

const certs = new CertDir(['127.0.8.1', '127.0.8.6']);
afterAll(() => certs.remove());

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/**
 * A at 127.0.8.1 dials B, whose id (and certificate) is the relay's address 127.0.8.6: B listens on
 * 127.0.8.2 behind the relay, which is what listenAddress exists for. Both ends stay mutual TLS.
 */
async function pairThroughRelay(extra: Partial<GrpcTransportOptions>) {
  const port = nextPort++;
  const aId = `127.0.8.1:${port}`;
  const bId = `127.0.8.6:${port}`;
  const members = [aId, bId];
  const common = { members: () => members, connectTimeoutMs: 2000, closeGraceMs: 300, ...extra };
  const a = new GrpcTransport({ self: aId, tls: certs.tls('127.0.8.1'), log: recordingLog(), ...common });
  const b = new GrpcTransport({
    self: bId,
    listenAddress: `127.0.8.2:${port}`,
    tls: certs.tls('127.0.8.6'),
    ...common,
  });
  const inbound: RingLink[] = [];
  await b.listen((link) => inbound.push(link));
  const relay = await Relay.start({ host: '127.0.8.6', port }, { host: '127.0.8.2', port });
  cleanup.push(
    () => b.close(),
    () => a.close(),
    () => relay.close(),
  );
  const out = await a.connect(bId);
  await waitFor('inbound link', () => inbound.length === 1);
  return { a, b, relay, out, inn: inbound[0] as RingLink };
}

describe('dead and slow peers', () => {
  it('a hung peer is noticed by keepalive on both sides', async () => {
    const { relay, out, inn } = await pairThroughRelay({ keepaliveMs: 200, keepaliveTimeoutMs: 300 });
    const outSeen = observe(out);
    const inSeen = observe(inn);
    // some traffic first, so the link is known good
    out.send({ kind: 'ping', sentMs: 1 });
    await waitFor('ping', () => inSeen.messages.length === 1);
    const frozenAt = Date.now();
    relay.freeze();
    await waitFor('both ends closed', () => outSeen.closed !== undefined && inSeen.closed !== undefined, 5000);
    console.log(
      `keepalive 200+300 ms: client noticed after ${outSeen.closedAt - frozenAt} ms (${outSeen.closed}), ` +
        `server after ${inSeen.closedAt - frozenAt} ms (${inSeen.closed})`,
    );
    expect(outSeen.closed).toMatch(/^link failed: UNAVAILABLE/);
    expect(inSeen.closed).toBe('link cancelled: peer gone or connection lost');
    expect(outSeen.closedAt - frozenAt).toBeLessThan(2000);
    expect(inSeen.closedAt - frozenAt).toBeLessThan(2000);
  });

  it('a killed peer closes the link at once on the other side', async () => {
    const { relay, out, inn } = await pairThroughRelay({ keepaliveMs: 60_000 });
    const outSeen = observe(out);
    const inSeen = observe(inn);
    const killedAt = Date.now();
    relay.kill();
    await waitFor('both ends closed', () => outSeen.closed !== undefined && inSeen.closed !== undefined, 2000);
    expect(outSeen.closed).toMatch(/^link failed: UNAVAILABLE/);
    expect(inSeen.closed).toBe('link cancelled: peer gone or connection lost');
    expect(Math.max(outSeen.closedAt, inSeen.closedAt) - killedAt).toBeLessThan(1000);
  });

  it('buffered counts what a peer that stops reading has not taken yet', async () => {
    const { relay, out, inn } = await pairThroughRelay({ keepaliveMs: 60_000 });
    const inSeen = observe(inn);
    const chunk: RingMessage = { kind: 'state', hosts: [], users: userBatch(50_000), buckets: [1], last: false };
    relay.freeze();
    for (let i = 0; i < 20; i++) out.send(chunk);
    const queued = out.buffered;
    await new Promise((r) => setTimeout(r, 300));
    const stuck = out.buffered;
    console.log(
      `backpressure: ${(queued / 1e6).toFixed(1)} MB queued, ${(stuck / 1e6).toFixed(1)} MB still queued after 300 ms frozen`,
    );
    expect(queued).toBeGreaterThan(19_000_000);
    // loopback socket buffers absorb a few MB at most; HTTP/2 flow control holds the rest
    expect(stuck).toBeGreaterThan(10_000_000);
    relay.thaw();
    await waitFor('all chunks delivered', () => inSeen.messages.length === 20, 10_000);
    await waitFor('queue drained', () => out.buffered === 0);
  });
});

describe('large state', () => {
  it('a million users cross a real mTLS link in one state message', async () => {
    const { out, inn } = await pairThroughRelay({});
    const inSeen = observe(inn);
    const state: RingMessage = {
      kind: 'state',
      hosts: Array.from({ length: 50 }, (_, i) => host(`10.0.${i >> 8}.${i & 255}`)),
      users: userBatch(1_000_000),
      buckets: Array.from({ length: 1024 }, (_, i) => i),
      last: true,
    };
    const t0 = performance.now();
    expect(out.send(state)).toBe(true);
    const queued = out.buffered;
    await waitFor('state delivered', () => inSeen.messages.length === 1, 15_000);
    const ms = performance.now() - t0;
    console.log(`gRPC mTLS 1M users: ${(queued / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms (encode + relay + decode)`);
    expect(comparable(inSeen.messages[0])).toEqual(comparable(state));
  });

  it('a frame over maxFrameBytes closes the link instead of being sent', async () => {
    const log = recordingLog();
    const { out, inn } = await pairThroughRelay({ maxFrameBytes: 1_000_000, log });
    const outSeen = observe(out);
    observe(inn);
    const big: RingMessage = { kind: 'state', hosts: [], users: userBatch(100_000), buckets: [], last: true };
    expect(out.send(big)).toBe(false);
    expect(outSeen.closed).toMatch(/state frame of \d+ bytes exceeds 1000000/);
    expect(log.entries.some((e) => e.level === 'error' && e.message === 'ring frame too large')).toBe(true);
  });
});

describe('bench hook', () => {
  it('measureGrpcRoundTrip reports ping latency and state transfer time', async () => {
    const result = await measureGrpcRoundTrip({
      host: '127.0.8.1',
      port: 47290,
      tls: { a: certs.tls('127.0.8.1'), b: certs.tls('127.0.8.1') },
      pings: 200,
      users: 100_000,
    });
    console.log('measureGrpcRoundTrip', result);
    expect(result.pings).toBe(200);
    expect(result.pingP50Ms).toBeGreaterThan(0);
    expect(result.stateBytes).toBeGreaterThan(2_000_000);
  });
});
