import { describe, expect, it } from 'vitest';
import { RingSimulation } from '../src/index.js';

const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function ring(n: number, seed = 1): Promise<RingSimulation> {
  const sim = new RingSimulation({ nodes: n, backends: BACKENDS, seed });
  await sim.start();
  const ok = await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 20_000);
  expect(ok, sim.log.join('\n')).toBe(true);
  return sim;
}

describe('ring basics', () => {
  it('forms a ring: every node links right, is ready and synced', async () => {
    const sim = await ring(4);
    await sim.advance(2000);
    for (const id of sim.ids) {
      const st = sim.node(id).status();
      expect(st.ready).toBe(true);
      expect(st.alone).toBe(false);
      expect(st.peers.filter((p) => p.roles.includes('right'))).toHaveLength(1);
    }
    expect(
      sim
        .node(sim.ids[0] as string)
        .status()
        .peers.find((p) => p.roles.includes('right'))?.node,
    ).toBe(sim.ids[1]);
    expect(
      sim
        .node(sim.ids[3] as string)
        .status()
        .peers.find((p) => p.roles.includes('right'))?.node,
    ).toBe(sim.ids[0]);
    await sim.stopAll();
  });

  it.each([3, 8, 16])('routes one user to one backend through every node (%i nodes)', async (n) => {
    const sim = await ring(n);
    const backends = new Set<string>();
    for (const id of sim.ids) backends.add((await sim.run(sim.route(id, 'alice@example.com'))).backend);
    expect(backends.size).toBe(1);
    await sim.advance(1000);
    expect(sim.converged(), sim.divergence()).toBe(true);
    for (const id of sim.ids) expect(sim.node(id).assignment(sim.hash('alice@example.com'), '')).toBe([...backends][0]);
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });

  it('a newcomer between two nodes is linked in: its left learns of it and links to it', async () => {
    const ids = ['127.0.1.1:9090', '127.0.1.2:9090', '127.0.1.3:9090', '127.0.1.4:9090'];
    const newcomer = '127.0.1.3:9090';
    const sim = new RingSimulation({
      nodes: ids,
      backends: BACKENDS,
      seed: 4,
      // the running ring has never heard of the newcomer; only the newcomer knows everyone
      membersOf: (id) => (id === newcomer ? ids : ids.filter((m) => m !== newcomer)),
    });
    await sim.start(ids.filter((id) => id !== newcomer));
    await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 10_000);
    for (let i = 0; i < 30; i++) await sim.run(sim.route('127.0.1.1:9090', `n${i}`));
    await sim.advance(500);
    const right = (id: string) =>
      sim
        .node(id)
        .status()
        .peers.find((p) => p.roles.includes('right'))?.node;
    expect(right('127.0.1.2:9090')).toBe('127.0.1.4:9090');
    await sim.start([newcomer]);
    expect(await sim.until(() => right('127.0.1.2:9090') === newcomer, 5000)).toBe(true);
    expect(right(newcomer)).toBe('127.0.1.4:9090');
    expect(await sim.until(() => sim.converged(), 5000)).toBe(true);
    expect(sim.node(newcomer).state.users.size).toBe(30);
    for (const id of ids)
      expect(
        sim
          .node(id)
          .status()
          .peers.map((p) => p.node),
      ).toContain(newcomer === id ? ids[0] : newcomer);
    await sim.stopAll();
  });
});
