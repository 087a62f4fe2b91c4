import { describe, expect, it } from 'vitest';
import { RingSimulation } from '../src/index.js';

const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const PING_TIMEOUT = 1000;

async function ring(n: number, seed = 11) {
  const sim = new RingSimulation({ nodes: n, backends: BACKENDS, seed, node: { pingTimeoutMs: PING_TIMEOUT } });
  await sim.start();
  expect(await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 20_000)).toBe(true);
  await sim.advance(500);
  return sim;
}

function rightOf(sim: RingSimulation, id: string): string | undefined {
  return sim
    .node(id)
    .status()
    .peers.find((p) => p.roles.includes('right') && p.state === 'up')?.node;
}

function users(n: number, prefix = 'u'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);
}

describe('crash and restart', () => {
  it.each([false, true])(
    'neighbours re-link around a crashed node within the ping timeout (silent=%s)',
    async (silent) => {
      const sim = await ring(5);
      const [a, b, c] = sim.ids as [string, string, string];
      expect(rightOf(sim, a)).toBe(b);
      const crashedAt = sim.scheduler.now();
      sim.crash(b, { silent });
      const relinked = await sim.until(() => rightOf(sim, a) === c, 10_000);
      expect(relinked).toBe(true);
      // silent: the ping timeout plus one ping interval to notice it
      expect(sim.scheduler.now() - crashedAt).toBeLessThanOrEqual(PING_TIMEOUT + 200 + 50);
      // the smaller ring still confirms admin changes
      await sim.run(sim.node(a).setHost({ ip: '10.0.0.4' }), 5000);
      for (const id of sim.liveIds()) expect(sim.node(id).state.hosts.get('10.0.0.4')).toBeDefined();
      await sim.stopAll();
    },
  );

  it('a restarted node re-learns hosts and users from the ring and rejoins it', async () => {
    const sim = await ring(4);
    const [a, b, c] = sim.ids as [string, string, string];
    for (const u of users(200)) await sim.run(sim.route(a, u));
    await sim.run(sim.node(a).setHost({ ip: '10.0.0.7', vhostCount: 30 }));
    await sim.run(sim.node(c).setHostDown('10.0.0.1', true));
    await sim.advance(300);
    await sim.restart(b);
    expect(sim.node(b).status().ready).toBe(false);
    expect(await sim.until(() => sim.node(b).status().ready, 5000)).toBe(true);
    await sim.advance(1000);
    expect(sim.converged(), sim.divergence()).toBe(true);
    expect(sim.node(b).state.users.size).toBe(200);
    expect(sim.node(b).state.hosts.get('10.0.0.7')?.vhostCount).toBe(30);
    expect(sim.node(b).state.hosts.get('10.0.0.1')?.down).toBe(true);
    expect(rightOf(sim, a)).toBe(b);
    for (const u of users(200))
      expect((await sim.run(sim.route(b, u))).backend).toBe(sim.node(a).assignment(sim.hash(u), ''));
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });

  it('a restarted node does not resurrect a host the ring removed, despite its config', async () => {
    const sim = await ring(3);
    const [a, b] = sim.ids as [string, string];
    await sim.run(sim.node(a).removeHost('10.0.0.3'));
    await sim.restart(b);
    expect(await sim.until(() => sim.node(b).status().ready, 5000)).toBe(true);
    await sim.advance(1000);
    for (const id of sim.ids) expect(sim.node(id).state.hosts.get('10.0.0.3')).toBeUndefined();
    expect(sim.converged(), sim.divergence()).toBe(true);
    await sim.stopAll();
  });

  it('a lone node serves on its own', async () => {
    const sim = new RingSimulation({ nodes: 3, backends: BACKENDS, seed: 2 });
    await sim.start([sim.ids[0] as string]);
    const a = sim.ids[0] as string;
    expect(await sim.until(() => sim.node(a).status().ready, 10_000)).toBe(true);
    expect(sim.node(a).status().alone).toBe(true);
    expect((await sim.run(sim.route(a, 'solo'))).backend).toMatch(/^10\.0\.0\./);
    await sim.run(sim.node(a).setHostDown('10.0.0.1', true), 100);
    await sim.stopAll();
  });
});

describe('partition and heal', () => {
  it('both sides serve; after heal states converge and conflicting users are kicked within one ring round', async () => {
    const sim = await ring(6, 5);
    const ids = sim.ids;
    const left = ids.slice(0, 3);
    const right = ids.slice(3);
    const [l0, l1] = left as [string, string];
    const [r0, r1] = right as [string, string];
    for (const u of users(50, 'old')) await sim.run(sim.route(l0, u));
    await sim.advance(300);
    sim.partition([...left], [...right]);
    // each side re-forms a smaller ring and keeps serving, host changes included
    await sim.advance(3000);
    await sim.run(sim.node(l1).setHostDown('10.0.0.1', true), 10_000);
    await sim.run(sim.node(r1).setHost({ ip: '10.0.0.1', vhostCount: 300 }), 10_000);
    const fresh = users(100, 'new');
    for (const u of fresh) {
      await sim.run(sim.route(l0, u));
      await sim.run(sim.route(r0, u));
    }
    // a move on one side only
    const moved = sim.hash('old1@example.com');
    const movedFrom = sim.node(l0).assignment(moved, '') as string;
    const movedTo = BACKENDS.find((b) => b !== movedFrom) as string;
    await sim.run(sim.node(r1).moveUser(moved, '', movedTo), 10_000);
    const split = sim.checker.split(sim.scheduler.now());
    expect(split.length).toBeGreaterThan(0);
    expect(sim.checker.violations).toEqual([]);

    sim.heal();
    const healedAt = sim.scheduler.now();
    const converged = await sim.until(() => sim.converged(), 20_000);
    expect(converged, `${sim.divergence()}\n${sim.log.slice(-30).join('\n')}`).toBe(true);
    const roundMs = sim.scheduler.now() - healedAt;
    // conflicting sessions were kicked: nobody is on two backends any more
    await sim.advance(1000);
    expect(sim.checker.split(sim.scheduler.now())).toEqual([]);
    expect(sim.log.some((l) => l.includes('redirected to two hosts'))).toBe(true);
    for (const u of fresh) {
      const want = sim.node(l0).assignment(sim.hash(u), '');
      for (const id of ids) expect((await sim.run(sim.route(id, u))).backend).toBe(want);
    }
    expect(sim.node(l0).assignment(moved, '')).toBe(movedTo);
    expect(sim.checker.violations).toEqual([]);
    expect(roundMs).toBeLessThan(10_000);
    await sim.stopAll();
  });
});
