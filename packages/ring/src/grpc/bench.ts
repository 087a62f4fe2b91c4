import type { RingMessage, UserBatch } from '../messages.js';
import type { RingLink } from '../transport.js';
import { encodeMessage } from './codec.js';
import { GrpcTransport, type RingTls } from './grpc-transport.js';

export interface GrpcRoundTripOptions {
  /** Both ends listen here, on `port` and `port + 1`. */
  readonly host?: string;
  readonly port: number;
  /** mTLS material for the two ends (their certificates must name `host`), or 'insecure'. */
  readonly tls: { readonly a: RingTls; readonly b: RingTls } | 'insecure';
  readonly pings?: number;
  readonly users?: number;
}

export interface GrpcRoundTripResult {
  readonly pings: number;
  readonly pingP50Ms: number;
  readonly pingP99Ms: number;
  readonly users: number;
  /** Encoded size of the state frame. */
  readonly stateBytes: number;
  /** State out and a pong back: encode, transfer and decode of the state dominate. */
  readonly stateRoundTripMs: number;
}

/**
 * Two transports in this process, one link between them: ping/pong latency and the time to move one
 * state message of `users` rows. Loopback only, so it measures the stack (gRPC, TLS, codec), not a network.
 */
export async function measureGrpcRoundTrip(options: GrpcRoundTripOptions): Promise<GrpcRoundTripResult> {
  const host = options.host ?? '127.0.0.1';
  const aId = `${host}:${options.port}`;
  const bId = `${host}:${options.port + 1}`;
  const members = () => [aId, bId];
  const tlsA = options.tls === 'insecure' ? 'insecure' : options.tls.a;
  const tlsB = options.tls === 'insecure' ? 'insecure' : options.tls.b;
  const a = new GrpcTransport({ self: aId, tls: tlsA, members });
  const b = new GrpcTransport({ self: bId, tls: tlsB, members });
  try {
    // B answers everything with a pong carrying the sender's timestamp back.
    await b.listen((link) =>
      link.onMessage((m) => link.send({ kind: 'pong', sentMs: m.kind === 'ping' ? m.sentMs : performance.now() })),
    );
    const link = await a.connect(bId);
    const pongs: number[] = [];
    let waiting: (() => void) | undefined;
    link.onMessage((m) => {
      if (m.kind !== 'pong') return;
      pongs.push(performance.now() - m.sentMs);
      waiting?.();
    });
    const ask = (m: RingMessage) => roundTrip(link, m, (resolve) => (waiting = resolve));

    const pings = options.pings ?? 1000;
    for (let i = 0; i < pings; i++) await ask({ kind: 'ping', sentMs: performance.now() });
    const sorted = [...pongs].sort((x, y) => x - y);

    const users = options.users ?? 1_000_000;
    const state: RingMessage = { kind: 'state', hosts: [], users: syntheticUsers(users), buckets: [], last: true };
    const t0 = performance.now();
    await ask(state);
    const stateRoundTripMs = performance.now() - t0;
    return {
      pings,
      pingP50Ms: sorted[Math.floor(sorted.length * 0.5)] ?? 0,
      pingP99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      users,
      stateBytes: encodeMessage(state).length,
      stateRoundTripMs,
    };
  } finally {
    await a.close();
    await b.close();
  }
}

function roundTrip(link: RingLink, m: RingMessage, onReply: (resolve: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    onReply(resolve);
    if (!link.send(m)) reject(new Error('ring link closed during the bench'));
  });
}

function syntheticUsers(n: number): UserBatch {
  const hashes = new Uint32Array(n);
  const timestamps = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    hashes[i] = Math.imul(i + 1, 2654435761) >>> 0 || 1;
    timestamps[i] = 1_700_000_000 + i;
  }
  return {
    tags: [''],
    hostIps: ['10.0.0.1'],
    tagIndex: new Uint16Array(n),
    hashes,
    hostIndex: new Uint16Array(n),
    timestamps,
    epochMs: new Float64Array(n),
  };
}
