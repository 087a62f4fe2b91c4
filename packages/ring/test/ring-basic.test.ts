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
    expect(sim.node(sim.ids[0] as string).status().peers.find((p) => p.roles.includes('right'))?.node).toBe(sim.ids[1]);
    expect(sim.node(sim.ids[3] as string).status().peers.find((p) => p.roles.includes('right'))?.node).toBe(sim.ids[0]);
    await sim.stopAll();
  });

  it('routes one user to one backend through every node', async () => {
    const sim = await ring(5);
    const backends = new Set<string>();
    for (const id of sim.ids) backends.add((await sim.run(sim.route(id, 'alice@example.com'))).backend);
    expect(backends.size).toBe(1);
    await sim.advance(1000);
    expect(sim.converged(), sim.divergence()).toBe(true);
    for (const id of sim.ids) expect(sim.node(id).assignment(sim.hash('alice@example.com'), '')).toBe([...backends][0]);
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });
});
