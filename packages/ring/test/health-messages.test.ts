import { BUCKET_COUNT, HostTable, UserHasher } from '@usher/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../src/grpc/frames.js';
import { decodeMessage, encodeMessage } from '../src/grpc/index.js';
import { MemoryNetwork, type RingLink, type RingMessage, RingNode, SimScheduler } from '../src/index.js';
import { host } from './grpc/helpers.js';

const roundTrip = (m: RingMessage): RingMessage => decodeMessage(encodeMessage(m));

describe('health on the wire', () => {
  it('round-trips a health report, a hello with features and a record marked down by health', () => {
    const messages: RingMessage[] = [
      {
        kind: 'health',
        origin: '127.0.8.1:4000',
        seq: 2 ** 53 - 1,
        validMs: 20_000,
        observations: [
          { ip: '10.0.0.1', failing: true, sinceMs: 1_700_000_000_123 },
          { ip: 'fd00::3', failing: false, sinceMs: 0 },
        ],
      },
      { kind: 'health', origin: '', seq: 0, validMs: 0, observations: [] },
      {
        kind: 'hello',
        from: '127.0.8.1:4000',
        protocol: 1,
        members: [],
        hostsHash: 1,
        bucketDigests: new Uint32Array([1, 2]),
        features: ['health'],
      },
      {
        kind: 'update',
        origin: '127.0.8.1:4000',
        seq: 5,
        hosts: [host('10.0.0.1', { down: true, healthDown: true }), host('10.0.0.2', { down: true })],
        users: {
          tags: [],
          hostIps: [],
          tagIndex: new Uint16Array(0),
          hashes: new Uint32Array(0),
          hostIndex: new Uint16Array(0),
          timestamps: new Uint32Array(0),
          epochMs: new Float64Array(0),
        },
        kicks: [],
        kickUsers: [],
      },
    ];
    for (const m of messages) expect(roundTrip(m)).toEqual(m);
  });

  it("reads an older node's hello and host records (no features, no health flag) as they were meant", () => {
    // written the way a node from before health checks writes them: the new fields absent
    const hello = decodeMessage(
      encodeFrame({
        body: 'hello',
        hello: { from: 'a:1', protocol: 1, members: [], hostsHash: 0, bucketDigests: new Uint8Array(0) },
      }),
    );
    expect(hello).not.toHaveProperty('features');
    const { version, ...rest } = host('10.0.0.1', { down: true });
    const state = decodeMessage(
      encodeFrame({ body: 'state', state: { hosts: [{ ...rest, version }], users: null, buckets: [], last: true } }),
    );
    expect(state.kind === 'state' && state.hosts[0]).toEqual(host('10.0.0.1', { down: true }));
    expect(state.kind === 'state' && state.hosts[0]).not.toHaveProperty('healthDown');
  });
});

/** A hand-driven peer: answers the ring node's hello with ours (with or without features) and records what arrives. */
async function peerOf(features: string[] | undefined) {
  const scheduler = new SimScheduler();
  const net = new MemoryNetwork({ scheduler });
  const self = '127.0.1.1:9090';
  const peer = '127.0.1.2:9090';
  const got: RingMessage[] = [];
  const peerTransport = net.transport(peer);
  await peerTransport.listen((link: RingLink) => {
    link.onMessage((m) => {
      got.push(m);
      if (m.kind === 'hello') {
        link.send({
          kind: 'hello',
          from: peer,
          protocol: 1,
          members: [self, peer],
          hostsHash: m.hostsHash,
          bucketDigests: new Uint32Array(BUCKET_COUNT),
          ...(features ? { features } : {}),
        });
      }
    });
  });
  const hosts = new HostTable();
  hosts.set({ ip: '10.0.0.1' });
  const node = new RingNode({
    self,
    members: [self, peer],
    transport: net.transport(self),
    scheduler,
    hosts,
    hasher: new UserHasher(),
    kicks: { kickHash() {}, kickUser() {} },
  });
  await node.start();
  await scheduler.advance(500);
  node.healthSink().publish({ node: self, validMs: 1000, verdicts: [{ ip: '10.0.0.1', failing: true, sinceMs: 1 }] });
  await scheduler.advance(100);
  await node.stop();
  return got.filter((m) => m.kind === 'health');
}

describe('health gossip and older peers', () => {
  it('is sent to a peer that announced the health feature', async () => {
    const health = await peerOf(['health']);
    expect(health).toHaveLength(1);
    expect(health[0]).toMatchObject({ kind: 'health', origin: '127.0.1.1:9090', validMs: 1000 });
  });

  it('is never sent to a peer from before health checks (it would drop the link)', async () => {
    expect(await peerOf(undefined)).toEqual([]);
  });
});
