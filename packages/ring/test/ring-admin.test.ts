import { describe, expect, it } from 'vitest';
import { RingSimulation, track } from '../src/index.js';

const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function ring(n: number, node: ConstructorParameters<typeof RingSimulation>[0]['node'] = {}) {
  const sim = new RingSimulation({ nodes: n, backends: BACKENDS, seed: 7, node });
  await sim.start();
  expect(await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 20_000)).toBe(true);
  await sim.advance(500);
  return sim;
}

function users(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user${i}@example.com`);
}

describe('admin operations resolve after the ring synced', () => {
  it('host add, down and remove reach every node before the call returns', async () => {
    const sim = await ring(6);
    const [a, b] = sim.ids as [string, string];
    await sim.run(sim.node(a).setHost({ ip: '10.0.0.4', vhostCount: 50 }));
    for (const id of sim.ids) expect(sim.node(id).state.hosts.get('10.0.0.4')?.vhostCount).toBe(50);
    await sim.run(sim.node(b).setHostDown('10.0.0.4', true));
    for (const id of sim.ids) expect(sim.node(id).state.hosts.get('10.0.0.4')?.down).toBe(true);
    await sim.run(sim.node(a).removeHost('10.0.0.4'));
    for (const id of sim.ids) expect(sim.node(id).state.hosts.get('10.0.0.4')).toBeUndefined();
    expect(sim.converged(), sim.divergence()).toBe(true);
    expect(sim.node(a).status().synced).toBe(true);
    await sim.stopAll();
  });

  it('removing a host drops its users everywhere; they are placed again on the next login', async () => {
    const sim = await ring(3);
    const [a, b, c] = sim.ids as [string, string, string];
    const placed = new Map<string, string>();
    for (const u of users(60)) placed.set(u, (await sim.run(sim.route(a, u))).backend);
    await sim.advance(200);
    await sim.run(sim.node(b).removeHost('10.0.0.2'));
    for (const u of users(60)) {
      const r = await sim.run(sim.route(c, u));
      expect(r.backend).not.toBe('10.0.0.2');
      if (placed.get(u) !== '10.0.0.2') expect(r.backend).toBe(placed.get(u));
    }
    await sim.stopAll();
  });

  it('concurrent changes of one host from two nodes resolve to the same table everywhere', async () => {
    const sim = await ring(5);
    const [a, , c] = sim.ids as [string, string, string];
    await sim.run(
      Promise.all([
        sim.node(a).setHost({ ip: '10.0.0.1', vhostCount: 10 }),
        sim.node(c).setHost({ ip: '10.0.0.1', vhostCount: 20 }),
      ]),
    );
    await sim.advance(500);
    expect(sim.converged(), sim.divergence()).toBe(true);
    await sim.stopAll();
  });

  it('an admin call rejects with SYNC_TIMEOUT when the ring cannot confirm it', async () => {
    const sim = await ring(3, { syncTimeoutMs: 3000, pingTimeoutMs: 60_000, retryFailedMs: 60_000 });
    const [a, b, c] = sim.ids as [string, string, string];
    // a stalls b's links without anyone noticing (pings time out only after a minute)
    sim.partition([a, c], [b]);
    const p = sim.node(a).setHost({ ip: '10.0.0.9' });
    const outcome = p.then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    await sim.advance(4000);
    expect(await outcome).toBe('SYNC_TIMEOUT');
    await sim.stopAll();
  });

  it('kickUser kicks the login name on every node', async () => {
    const sim = await ring(4);
    await sim.run(sim.node(sim.ids[2] as string).kickUser('bob'));
    for (const id of sim.ids) expect(sim.kicksOf(id).kicks.map((k) => k.username)).toContain('bob');
    await sim.stopAll();
  });

  it('refuses a tag change and an unknown host, with typed errors', async () => {
    const sim = await ring(2);
    const a = sim.ids[0] as string;
    await expect(sim.node(a).setHost({ ip: '10.0.0.1', tag: 'x' })).rejects.toMatchObject({ code: 'HOST_TAG_CHANGE' });
    await expect(sim.node(a).removeHost('10.9.9.9')).rejects.toMatchObject({ code: 'HOST_NOT_FOUND' });
    await expect(sim.node(a).moveUser(5, '', '10.9.9.9')).rejects.toMatchObject({ code: 'HOST_NOT_FOUND' });
    await sim.stopAll();
  });
});

describe('new users during a host change', () => {
  it('only users whose placement the change moves wait, and all nodes agree', async () => {
    const sim = await ring(4, { syncResendMs: 60_000 });
    const [a, b, c] = sim.ids as [string, string, string];
    // slow the ring so the change stays unconfirmed for a while
    for (const x of sim.ids) for (const y of sim.ids) if (x < y) sim.net.setDelay(x, y, 200);
    const change = sim.node(a).setHostDown('10.0.0.3', true);
    await sim.advance(250);
    expect(sim.node(b).state.settled.unsettled).toBe(true);
    const results = users(40).map((u) => {
      const p = sim.route(b, u);
      return { u, p, t: track(p) };
    });
    await sim.advance(1);
    const immediate = results.filter((r) => r.t.settled).length;
    expect(immediate).toBeGreaterThan(0);
    expect(immediate).toBeLessThan(40);
    await sim.run(change);
    await sim.advance(2000);
    for (const r of results) {
      const backend = (await sim.run(r.p)).backend;
      expect(backend).not.toBe('10.0.0.3');
      expect((await sim.run(sim.route(c, r.u))).backend).toBe(backend);
    }
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });
});
