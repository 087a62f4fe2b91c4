import { UserBatchBuilder } from '@usher/core';
import { mulberry32 } from '../memory-transport.js';
import { RingSimulation } from './simulation.js';

export interface TransferFigures {
  /** Messages the node received, by kind. */
  readonly byKind: Readonly<Record<string, number>>;
  /** User rows it received (state and update messages). */
  readonly usersReceived: number;
  /** `state` messages it received. */
  readonly stateMessages: number;
  readonly bytes: number;
  /** Virtual time until it held the ring's state. */
  readonly virtualMs: number;
  /** Real time the simulation took (digests, packing, merging). */
  readonly wallMs: number;
}

export interface JoinCheckResult {
  /** Users the ring held (random hashes: a few collide, so slightly fewer than asked for). */
  readonly users: number;
  readonly nodes: number;
  /** An empty node joins the ring. */
  readonly join: TransferFigures;
  /** The same node, state intact, loses its links and links again. */
  readonly reconnect: TransferFigures;
}

/**
 * How much a joining node receives from a ring holding `users` users, and how much the same node
 * receives when it reconnects with its state intact. The ring should send an empty node everything
 * in a few large state chunks, and a reconnecting one (almost) nothing. Used by the ring tests and
 * the bench.
 */
export async function measureJoin(opts: { users: number; nodes?: number; seed?: number }): Promise<JoinCheckResult> {
  const nodes = opts.nodes ?? 3;
  const sim = new RingSimulation({
    nodes,
    backends: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'],
    seed: opts.seed ?? 1,
    node: { userExpireSecs: 3600, pingTimeoutMs: 1000 },
  });
  const [first, ...others] = sim.ids as [string, ...string[]];
  const joiner = others.pop() as string;
  await sim.start([first]);
  await sim.until(() => sim.node(first).status().ready, 30_000);
  fill(sim, first, opts.users, opts.seed ?? 1);
  const users = sim.node(first).state.users.size;
  await sim.start(others);
  await sim.until(() => sim.converged() && sim.liveIds().every((id) => sim.node(id).status().ready), 60_000);

  sim.net.resetTraffic();
  let wall = performance.now();
  let started = sim.scheduler.now();
  await sim.start([joiner]);
  await sim.until(() => sim.node(joiner).status().ready && sim.converged(), 60_000);
  await sim.advance(500);
  const join = figures(sim, joiner, sim.scheduler.now() - started, performance.now() - wall);

  // cut the node off until its links time out, then let it link again
  sim.partition(
    [joiner],
    sim.ids.filter((id) => id !== joiner),
  );
  await sim.until(() => sim.node(joiner).status().alone, 30_000);
  sim.net.resetTraffic();
  wall = performance.now();
  started = sim.scheduler.now();
  sim.heal();
  await sim.until(() => !sim.node(joiner).status().alone && sim.converged(), 60_000);
  await sim.advance(500);
  const reconnect = figures(sim, joiner, sim.scheduler.now() - started, performance.now() - wall);
  await sim.stopAll();
  return { users, nodes, join, reconnect };
}

function fill(sim: RingSimulation, id: string, users: number, seed: number): void {
  const rand = mulberry32(seed);
  const now = Math.floor(sim.scheduler.now() / 1000);
  const b = new UserBatchBuilder(users);
  const tag = b.tagIndexOf('');
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => b.hostIndexOf(ip));
  for (let i = 0; i < users; i++) {
    const hash = Math.floor(rand() * 0xffffffff) + 1;
    // oldest first, as a directory fills up over time
    b.addIndexed(tag, hash >>> 0 || 1, hosts[i % hosts.length] as number, now - 600 + Math.floor((i * 600) / users), 0);
  }
  sim.node(id).state.mergeUsers(b.build(), now);
}

function figures(sim: RingSimulation, id: string, virtualMs: number, wallMs: number): TransferFigures {
  const t = sim.net.trafficOf(id);
  return {
    byKind: { ...t.byKind },
    usersReceived: t.users,
    stateMessages: t.byKind.state ?? 0,
    bytes: t.bytes,
    virtualMs,
    wallMs: Math.round(wallMs),
  };
}
