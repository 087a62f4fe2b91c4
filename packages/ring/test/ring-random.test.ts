import { describe, expect, it } from 'vitest';
import { mulberry32, RingSimulation, track } from '../src/index.js';

const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
const USERS = Array.from({ length: 60 }, (_, i) => `r${i}@example.com`);
const SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i);
const STEPS = Number(process.env.RING_CHAOS_STEPS ?? 80);

/**
 * A random fault schedule from a seed: logins everywhere, admin host changes and moves, and
 * partitions, delays with jitter (reordering across links), lost messages, crashes and restarts.
 * Then quiet: every node must hold the same state, and no user may ever have been served by two
 * backends at once except across a partition.
 */
export const chaosForDebug = (seed: number, nodes: number) => chaos(seed, nodes);
async function chaos(seed: number, nodes: number): Promise<{ sim: RingSimulation; converged: boolean }> {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const sim = new RingSimulation({
    nodes,
    backends: BACKENDS,
    seed,
    network: { jitterMs: 3 },
    // short expiry on odd seeds, so users expire and get placed again mid-run
    node: { userExpireSecs: seed % 2 === 1 ? 10 : 30 },
  });
  await sim.start();
  await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 20_000);
  const crashed = new Set<string>();
  let partitioned = 0;
  const pending: Promise<unknown>[] = [];
  for (let step = 0; step < STEPS; step++) {
    const live = sim.liveIds();
    const roll = rand();
    if (roll < 0.5) {
      for (let i = 0; i < 4; i++) pending.push(sim.route(pick(live), pick(USERS)).catch(() => {}));
    } else if (roll < 0.6) {
      const ip = pick(BACKENDS);
      const down = rand() < 0.5;
      pending.push(
        sim
          .node(pick(live))
          .setHostDown(ip, down)
          .catch(() => {}),
      );
    } else if (roll < 0.65) {
      pending.push(
        sim
          .node(pick(live))
          .setHost({ ip: pick(BACKENDS), vhostCount: 50 + Math.floor(rand() * 100) })
          .catch(() => {}),
      );
    } else if (roll < 0.72) {
      pending.push(
        sim
          .node(pick(live))
          .moveUser(sim.hash(pick(USERS)), '', pick(BACKENDS))
          .catch(() => {}),
      );
    } else if (roll < 0.78 && partitioned === 0) {
      const shuffled = [...sim.ids].sort(() => rand() - 0.5);
      const cut = 1 + Math.floor(rand() * (shuffled.length - 1));
      sim.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      partitioned = 4 + Math.floor(rand() * 8);
    } else if (roll < 0.84) {
      sim.net.setDelay(pick(sim.ids), pick(sim.ids), Math.floor(rand() * 40), Math.floor(rand() * 20));
    } else if (roll < 0.88 && live.length > 2) {
      const victim = pick(live);
      sim.crash(victim, { silent: rand() < 0.5 });
      crashed.add(victim);
    } else if (roll < 0.93 && crashed.size > 0) {
      const back = pick([...crashed]);
      crashed.delete(back);
      await sim.restart(back);
    } else if (roll < 0.96) {
      sim.net.setLoss(0.002);
    } else {
      sim.net.setLoss(0);
    }
    if (partitioned > 0 && --partitioned === 0) sim.heal();
    await sim.advance(100 + Math.floor(rand() * 400));
  }
  // quiet
  sim.heal();
  sim.net.setLoss(0);
  for (const a of sim.ids) for (const b of sim.ids) if (a < b) sim.net.setDelay(a, b, 1, 0);
  for (const id of crashed) await sim.restart(id);
  const tracked = track(Promise.all(pending));
  let ok = await sim.until(() => sim.converged() && tracked.settled, 60_000);
  // every backend up again, so the final logins have somewhere to go
  const admin = sim.node(sim.ids[0] as string);
  for (const ip of BACKENDS) await sim.run(admin.setHostDown(ip, false)).catch(() => {});
  ok = ok && (await sim.until(() => sim.converged(), 30_000));
  await sim.advance(3000);
  return { sim, converged: ok && sim.converged() };
}

describe('random fault schedules converge and keep the invariant', () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    const nodes = 3 + (seed % 6);
    const { sim, converged } = await chaos(seed, nodes);
    const context = `seed ${seed} (${nodes} nodes)`;
    expect(converged, `${context}: ${sim.divergence()}\n${sim.log.slice(-30).join('\n')}`).toBe(true);
    expect(sim.checker.violations, context).toEqual([]);
    expect(sim.checker.split(sim.scheduler.now()), context).toEqual([]);
    // after quiet, every node routes every user alike
    for (const u of USERS.slice(0, 20)) {
      const backends = new Set<string>();
      for (const id of sim.liveIds()) backends.add((await sim.run(sim.route(id, u))).backend);
      expect(backends.size, `${context}: ${u}`).toBe(1);
    }
    expect(sim.checker.violations, context).toEqual([]);
    await sim.stopAll();
  });

  it('a 16-node ring survives the same treatment', async () => {
    const { sim, converged } = await chaos(4242, 16);
    expect(converged, `seed 4242: ${sim.divergence()}`).toBe(true);
    expect(sim.checker.violations).toEqual([]);
    expect(sim.checker.split(sim.scheduler.now())).toEqual([]);
    await sim.stopAll();
  });
});
