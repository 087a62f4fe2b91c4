import { describe, expect, it } from 'vitest';
import { RingSimulation } from '../src/index.js';

// usherd's timings (director_ring_ping_interval 1 s, ping_timeout 5 s, failed peers skipped 10 s):
// the window in which a closing link counts as "failed soon after it opened" is a whole second.
const PRODUCTION = { pingIntervalMs: 1000, pingTimeoutMs: 5000, retryFailedMs: 10_000 };

function linkCloses(sim: RingSimulation): number {
  return sim.log.filter((l) => l.includes('ring: link closed')).length;
}

function rightOf(sim: RingSimulation, id: string): string | undefined {
  return sim
    .node(id)
    .status()
    .peers.find((p) => p.roles.includes('right'))?.node;
}

describe('re-linking settles', () => {
  // Regression: closing a young link on purpose (a right neighbour replaced by a closer one) marked
  // the peer failed on both ends; the far end then re-pointed its own right, whose young link's close
  // marked the next node, and so on. A ring whose nodes joined within a ping interval of each other
  // re-linked every few milliseconds, forever (seen with three usherd processes over gRPC).
  it('nodes joining within a ping interval of each other link once and stay linked', async () => {
    const sim = new RingSimulation({ nodes: 3, backends: ['10.0.0.1'], verboseLog: true, node: PRODUCTION });
    const [a, b, c] = sim.ids as [string, string, string];
    await sim.start([a]);
    await sim.advance(3000);
    await sim.start([b, c]);
    await sim.advance(5000);
    const settled = linkCloses(sim);
    await sim.advance(20_000);
    expect(linkCloses(sim) - settled).toBe(0);
    expect(settled).toBeLessThan(10);
    expect([rightOf(sim, a), rightOf(sim, b), rightOf(sim, c)]).toEqual([b, c, a]);
    expect(sim.converged()).toBe(true);
    await sim.stopAll();
  });

  it('a right neighbour replaced by a closer one is not skipped when the closer one dies', async () => {
    const sim = new RingSimulation({ nodes: 3, backends: ['10.0.0.1'], verboseLog: true, node: PRODUCTION });
    const [a, b, c] = sim.ids as [string, string, string];
    await sim.start([a, c]);
    await sim.until(() => rightOf(sim, a) === c, 5000);
    // b comes up while a's link to c is still young: a replaces it with a link to b
    await sim.start([b]);
    expect(await sim.until(() => rightOf(sim, a) === b, 5000)).toBe(true);
    sim.crash(b);
    // c did nothing wrong: a links to it again at once, not after the 10 s a failed peer is skipped
    expect(await sim.until(() => rightOf(sim, a) === c, 2000)).toBe(true);
    await sim.stopAll();
  });
});
