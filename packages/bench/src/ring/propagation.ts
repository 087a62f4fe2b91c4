import type { RingLink } from '@usher/ring';
import { GrpcTransport } from '@usher/ring/grpc';
import { quantile } from '../measure.js';
import { type BenchRingNode, GrpcRing, nodeIp, type RingCerts, type Security, sleep } from './grpc-ring.js';

export interface Percentiles {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  return {
    samples: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

export interface PropagationResult {
  readonly size: number;
  readonly security: Security;
  readonly updateBatchMs: number;
  readonly ring: Percentiles;
  readonly warnings: number;
}

/**
 * One assignment at a time: route() a new user on a node (the nodes take turns), and time until
 * every other node's `assignment(hash, '')` shows it. Each node checks right after it handled a
 * message, so no polling adds to the figure. All nodes share this process's one thread: a hop costs
 * what a whole node's receive, apply and forward costs, with nothing running in parallel.
 */
export async function measurePropagation(opts: {
  size: number;
  security: Security;
  certs?: RingCerts;
  samples: number;
  /** The update batcher's interval (usherd: 10 ms; 0 floods each placement on the next turn). */
  updateBatchMs: number;
}): Promise<PropagationResult> {
  const ring = new GrpcRing({
    size: opts.size,
    security: opts.security,
    ...(opts.certs ? { certs: opts.certs } : {}),
    node: { updateBatchMs: opts.updateBatchMs },
  });
  try {
    await ring.start();
    await ring.settle();
    const nodes = ring.nodes;
    const times: number[] = [];
    let probe: { hash: number; t0: number; waiting: Set<number>; done: (ms: number) => void } | undefined;
    nodes.forEach((n, j) => {
      n.transport.hook = (m) => {
        if (m.kind !== 'update' || !probe || !probe.waiting.has(j)) return;
        if (n.node.assignment(probe.hash, '') === undefined) return;
        probe.waiting.delete(j);
        if (probe.waiting.size === 0) probe.done(performance.now() - probe.t0);
      };
    });
    for (let k = 0; k < opts.samples + 10; k++) {
      const origin = k % nodes.length;
      const user = `prop-${opts.size}-${opts.security}-${opts.updateBatchMs}-${k}`;
      const hash = ring.hasher.hash(user);
      const ms = await new Promise<number>((resolve, reject) => {
        const waiting = new Set(nodes.map((_, j) => j).filter((j) => j !== origin));
        const timer = setTimeout(() => reject(new Error(`assignment ${k} did not reach every node in 10 s`)), 10_000);
        probe = {
          hash,
          t0: performance.now(),
          waiting,
          done: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        };
        (nodes[origin] as BenchRingNode).node.router.route(user, '').catch(reject);
      });
      probe = undefined;
      // the first few warm the JIT and the connections
      if (k >= 10) times.push(ms);
      // off the ping timers' phase
      await sleep(Math.floor(Math.random() * 5));
    }
    return {
      size: opts.size,
      security: opts.security,
      updateBatchMs: opts.updateBatchMs,
      ring: percentiles(times),
      warnings: ring.log.warnings + ring.log.errors,
    };
  } finally {
    await ring.stop();
  }
}

/**
 * The naive baseline: the origin sends each assignment straight to every other node over its own
 * gRPC link (a full mesh), same transport and security, same process. Time until the last one got it.
 */
export async function measureFanout(opts: {
  size: number;
  security: Security;
  certs?: RingCerts;
  samples: number;
  port: number;
}): Promise<Percentiles> {
  const ids = Array.from({ length: opts.size }, (_, i) => `${nodeIp(i)}:${opts.port}`);
  const transports = ids.map(
    (id, i) =>
      new GrpcTransport({
        self: id,
        tls: opts.security === 'insecure' ? 'insecure' : (opts.certs as RingCerts).tls(nodeIp(i)),
        members: () => ids,
      }),
  );
  let pending: { seq: number; left: number; t0: number; done: (ms: number) => void } | undefined;
  try {
    for (const t of transports.slice(1)) {
      await t.listen((link) =>
        link.onMessage((m) => {
          if (m.kind !== 'ping' || !pending || m.sentMs !== pending.seq) return;
          if (--pending.left === 0) pending.done(performance.now() - pending.t0);
        }),
      );
    }
    const origin = transports[0] as GrpcTransport;
    const links: RingLink[] = [];
    for (const id of ids.slice(1)) links.push(await origin.connect(id));
    const times: number[] = [];
    for (let k = 0; k < opts.samples + 10; k++) {
      const ms = await new Promise<number>((resolve) => {
        pending = { seq: k, left: links.length, t0: performance.now(), done: resolve };
        for (const l of links) l.send({ kind: 'ping', sentMs: k });
      });
      if (k >= 10) times.push(ms);
      await sleep(Math.floor(Math.random() * 5));
    }
    return percentiles(times);
  } finally {
    for (const t of transports) await t.close();
  }
}
