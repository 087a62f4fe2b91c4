import { setImmediate as nextTurn } from 'node:timers/promises';
import { HostTable, Placement } from '@usher/core';
import { BACKENDS, type BenchRingNode, GrpcRing, type RingCerts, type Security, sleep } from './grpc-ring.js';
import { type Percentiles, percentiles } from './propagation.js';

export interface HostAddResult {
  readonly size: number;
  readonly security: Security;
  readonly rounds: number;
  /** New users whose backend the change moves, routed while the routing node had not confirmed it. */
  readonly affected: Percentiles & { readonly queued: number };
  /** New users whose backend the change moves, routed once it was confirmed (no wait expected). */
  readonly affectedLater: number;
  /** New users whose backend is the same before and after: never to be held. */
  readonly unaffected: Percentiles & { readonly queued: number };
  /**
   * From the routing node learning the change until its sync round confirmed it: how long Dovecot,
   * which stalls every new user while the ring is unsynced, would have held all of them.
   */
  readonly window: Percentiles;
  readonly warnings: number;
}

const EXTRA = '10.0.0.4';
const CHUNK = 10;
const WARMUP = 2;

/**
 * Host add (and remove, alternately) on node A, logins on node B, a ring of `size` over gRPC. Each
 * round: A starts the admin change; the moment B has applied it (seen from B's message hook), B
 * routes `usersPerRound` never-seen users, CHUNK per event-loop turn, so the ring's messages keep
 * flowing in between, as logins arriving over time would let them. Every login's wait is from its
 * route() call to its answer; a login counts as queued when the router held it.
 */
export async function measureHostAdd(opts: {
  size: number;
  security: Security;
  certs?: RingCerts;
  rounds: number;
  usersPerRound: number;
}): Promise<HostAddResult> {
  const ring = new GrpcRing({ size: opts.size, security: opts.security, ...(opts.certs ? { certs: opts.certs } : {}) });
  try {
    await ring.start();
    await ring.settle();
    const A = ring.nodes[0] as BenchRingNode;
    const B = ring.nodes[Math.floor(opts.size / 2)] as BenchRingNode;
    const affected: number[] = [];
    const unaffected: number[] = [];
    const windows: number[] = [];
    let affectedQueued = 0;
    let unaffectedQueued = 0;
    let affectedLater = 0;
    const without = placementOf(BACKENDS);
    const withExtra = placementOf([...BACKENDS, EXTRA]);

    // two more rounds first, not counted: the first host changes on a fresh ring run cold code
    for (let r = -WARMUP; r < opts.rounds; r++) {
      const adding = r % 2 === 0;
      const counted = r >= 0;
      const has = () => B.node.state.hosts.get(EXTRA) !== undefined;
      let learnedAt = 0;
      let settledAt = 0;
      const learned = new Promise<void>((resolve) => {
        B.transport.hook = () => {
          if (learnedAt === 0 && has() === adding) {
            learnedAt = performance.now();
            resolve();
          }
          if (learnedAt !== 0 && settledAt === 0 && !B.node.state.settled.unsettled) settledAt = performance.now();
        };
      });
      const change = adding ? A.node.setHost({ ip: EXTRA }) : A.node.removeHost(EXTRA);
      await learned;
      if (!B.node.state.settled.unsettled)
        throw new Error('B confirmed the change before it could route: nothing measured');

      const waits: Promise<void>[] = [];
      for (let i = 0; i < opts.usersPerRound; i += CHUNK) {
        for (let j = i; j < Math.min(i + CHUNK, opts.usersPerRound); j++) {
          const user = `hostadd-${opts.size}-${r}-${j}`;
          const hash = ring.hasher.hash(user);
          const moves = without.lookup(hash)?.ip.text !== withExtra.lookup(hash)?.ip.text;
          const unsettled = B.node.state.settled.unsettled;
          const before = B.node.router.waiting;
          const t0 = performance.now();
          const p = B.node.router.routeHash(hash, '');
          const queued = B.node.router.waiting > before;
          waits.push(
            p.then(() => {
              const ms = performance.now() - t0;
              if (!counted) return;
              if (!moves) {
                unaffected.push(ms);
                if (queued) unaffectedQueued++;
              } else if (unsettled) {
                affected.push(ms);
                if (queued) affectedQueued++;
              } else affectedLater++;
            }),
          );
        }
        await nextTurn();
      }
      await Promise.all(waits);
      await change;
      if (settledAt === 0) settledAt = performance.now();
      if (counted) windows.push(settledAt - learnedAt);
      B.transport.hook = undefined;
      await sleep(50);
    }
    return {
      size: opts.size,
      security: opts.security,
      rounds: opts.rounds,
      affected: { ...percentiles(affected), queued: affectedQueued },
      affectedLater,
      unaffected: { ...percentiles(unaffected), queued: unaffectedQueued },
      window: percentiles(windows),
      warnings: ring.log.warnings + ring.log.errors,
    };
  } finally {
    await ring.stop();
  }
}

function placementOf(ips: readonly string[]): Placement {
  const t = new HostTable();
  for (const ip of ips) t.set({ ip });
  return new Placement(t);
}
