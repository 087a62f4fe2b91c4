import { once } from 'node:events';
import { createServer, connect as tcpConnect } from 'node:net';
import { ClusterState, HostTable, type UserBatch, UserBatchBuilder } from '@usher/core';
import type { RingMessage } from '@usher/ring';
import { encodeMessage } from '@usher/ring/grpc';
import { userHashes } from '../measure.js';
import {
  BACKENDS,
  type BenchRingNode,
  GrpcRing,
  nodeIp,
  type RingCerts,
  type Security,
  sleep,
  waitFor,
} from './grpc-ring.js';

export interface Received {
  /** Encoded ring frames (protobuf, before HTTP/2 and TLS framing). */
  readonly bytes: number;
  readonly messages: number;
  readonly stateMessages: number;
  readonly usersReceived: number;
  /** When the first and the last `state` frame were handled (ms after the clock started). */
  readonly firstStateMs: number;
  readonly lastStateMs: number;
}

export interface JoinResult {
  readonly security: Security;
  readonly users: number;
  /** An empty node starts: until it is ready (holds the ring's users, routes) and its digests match. */
  readonly joinMs: number;
  readonly join: Received;
  /** The same node, state intact, has its links cut and re-links. */
  readonly reconnectMs: number;
  readonly reconnect: Received;
  /** The naive transfer: every user as one Dovecot handshake line over TCP. */
  readonly naive: { readonly bytes: number; readonly ms: number };
  readonly warnings: number;
}

/** What a node received, message by message (sizes computed after the clock stopped). */
class Recorder {
  private messages: RingMessage[] = [];
  private t0 = 0;
  private firstState = Number.NaN;
  private lastState = Number.NaN;
  on = false;

  start(): void {
    this.t0 = performance.now();
    this.firstState = Number.NaN;
    this.lastState = Number.NaN;
    this.on = true;
  }

  record(m: RingMessage): void {
    if (!this.on) return;
    this.messages.push(m);
    if (m.kind === 'state') {
      this.lastState = performance.now() - this.t0;
      if (Number.isNaN(this.firstState)) this.firstState = this.lastState;
    }
  }

  take(): Received {
    const ms = this.messages;
    this.messages = [];
    let bytes = 0;
    let users = 0;
    let states = 0;
    for (const m of ms) {
      bytes += encodeMessage(m).length;
      if (m.kind === 'state') states++;
      if (m.kind === 'state' || m.kind === 'update') users += m.users.hashes.length;
    }
    return {
      bytes,
      messages: ms.length,
      stateMessages: states,
      usersReceived: users,
      firstStateMs: this.firstState,
      lastStateMs: this.lastState,
    };
  }
}

/**
 * A ring of three holds `users` assignments (node A filled directly, B and C took them from A); then
 * D, empty, joins over gRPC. Join time is D's start until it is ready with digests equal to A's; the
 * bytes are every ring frame D received until the exchanges with both neighbours were over. Then D's
 * links are cut and it re-links with its state intact.
 */
export async function measureJoinGrpc(opts: {
  users: number;
  security: Security;
  certs?: RingCerts;
}): Promise<JoinResult> {
  const ring = new GrpcRing({
    size: 4,
    security: opts.security,
    ...(opts.certs ? { certs: opts.certs } : {}),
    // long enough that no filled user expires during the run
    node: { userExpireSecs: 3600 },
  });
  const [a, b, c, d] = ring.ids as [string, string, string, string];
  try {
    const [first] = await ring.start([a]);
    await waitFor(() => (first as BenchRingNode).node.status().ready, 15_000, 'node A alone was not ready');
    const batch = fill(opts.users);
    const A = (first as BenchRingNode).node;
    A.state.mergeUsers(batch, Math.floor(Date.now() / 1000));
    const users = A.state.users.size;
    await ring.start([b, c]);
    await ring.settle(60_000);
    await waitFor(() => sameDigests(ring, [b, c], a), 60_000, 'B and C did not take the state', 50);

    const rec = new Recorder();
    const t0 = performance.now();
    rec.start();
    const [joiner] = await ring.start([d], (m) => rec.record(m));
    const D = joiner as BenchRingNode;
    await waitFor(() => D.node.status().ready, 60_000, 'the joiner was not ready', 1);
    await waitFor(() => sameDigests(ring, [d], a), 60_000, 'the joiner does not hold the ring state', 5);
    const joinMs = performance.now() - t0;
    // the second neighbour's exchange (deferred until the first transfer ended) and any stragglers
    await sleep(1500);
    rec.on = false;
    const join = rec.take();

    // cut D off and let it link again: the digests agree, so almost nothing is sent
    let states = 0;
    D.transport.hook = (m) => {
      rec.record(m);
      if (m.kind === 'state' && m.last) states++;
    };
    rec.start();
    const t1 = performance.now();
    D.transport.cut();
    await waitFor(
      () => states >= 1 && D.node.status().peers.some((p) => p.roles.includes('right')),
      30_000,
      'the joiner did not re-link',
      1,
    );
    const reconnectMs = performance.now() - t1;
    await sleep(1500);
    rec.on = false;
    if (!sameDigests(ring, [d], a)) throw new Error('the joiner lost its state while re-linking');
    const reconnect = rec.take();

    const naive = await naiveTransfer(batch);
    return {
      security: opts.security,
      users,
      joinMs,
      join,
      reconnectMs,
      reconnect,
      naive,
      warnings: ring.log.warnings + ring.log.errors,
    };
  } finally {
    await ring.stop();
  }
}

function sameDigests(ring: GrpcRing, ids: readonly string[], ref: string): boolean {
  const want = Buffer.from(ring.get(ref).node.digests().buffer);
  return ids.every((id) => Buffer.from(ring.get(id).node.digests().buffer).equals(want));
}

/** `n` users on the three backends, refreshed over the last ten minutes, oldest first. */
function fill(n: number): UserBatch {
  const now = Math.floor(Date.now() / 1000);
  const b = new UserBatchBuilder(n);
  const tag = b.tagIndexOf('');
  const hosts = BACKENDS.map((ip) => b.hostIndexOf(ip));
  const hashes = userHashes(n, 7);
  for (let i = 0; i < n; i++) {
    b.addIndexed(tag, hashes[i] as number, hosts[i % hosts.length] as number, now - 600 + Math.floor((i * 600) / n), 0);
  }
  return b.build();
}

/**
 * The naive full transfer, as Dovecot's director handshake does it: one line per user,
 * `U\t<hash>\t<ip>\t<timestamp>\n`, over one plain TCP connection on loopback, parsed line by line
 * on the other side and merged into the same directory structure the ring node uses. Time from
 * connect until the last user is in the directory.
 */
async function naiveTransfer(batch: UserBatch): Promise<{ bytes: number; ms: number }> {
  const lines: string[] = [];
  for (let i = 0; i < batch.hashes.length; i++) {
    lines.push(`U\t${batch.hashes[i]}\t${batch.hostIps[batch.hostIndex[i] as number]}\t${batch.timestamps[i]}\n`);
  }
  const payload = Buffer.from(lines.join(''));
  const expected = lines.length;
  const server = createServer();
  server.listen(0, nodeIp(0));
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const received = new Promise<void>((resolve) => {
      server.once('connection', (sock) => {
        const built = new UserBatchBuilder(expected);
        const tag = built.tagIndexOf('');
        let rows = 0;
        let rest = '';
        sock.setEncoding('latin1');
        sock.on('data', (chunk: string) => {
          const text = rest + chunk;
          let start = 0;
          for (;;) {
            const nl = text.indexOf('\n', start);
            if (nl < 0) break;
            const f = text.slice(start, nl).split('\t');
            built.addIndexed(tag, Number(f[1]), built.hostIndexOf(f[2] as string), Number(f[3]), 0);
            rows++;
            start = nl + 1;
          }
          rest = text.slice(start);
          if (rows === expected) {
            const hosts = new HostTable();
            for (const ip of BACKENDS) hosts.set({ ip });
            const state = new ClusterState({ node: 'naive', hosts, userExpireSecs: 3600 });
            state.mergeUsers(built.build(), Math.floor(Date.now() / 1000));
            resolve();
          }
        });
      });
    });
    const t0 = performance.now();
    const client = tcpConnect(port, nodeIp(0));
    client.end(payload);
    await received;
    const ms = performance.now() - t0;
    client.destroy();
    return { bytes: payload.length, ms };
  } finally {
    server.close();
  }
}
