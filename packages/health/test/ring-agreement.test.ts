import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, HealthRing } from './health-ring.js';

const [IP1, IP2, IP3] = BACKENDS as [string, string, string];

let ring: HealthRing | undefined;

async function startRing(nodes: number, monitor: ConstructorParameters<typeof HealthRing>[0]['monitor'] = {}) {
  ring = new HealthRing({ nodes, monitor });
  await ring.start();
  // past the start grace, every node holds an "ok" verdict on every backend
  await ring.sim.advance(4000);
  return ring;
}

afterEach(async () => {
  await ring?.stop();
  ring = undefined;
});

/** Whether the host record still is the configured one (nobody ever wrote it). */
function untouched(r: HealthRing, ip: string): boolean {
  return r.sim.liveIds().every((id) => r.sim.node(id).state.ledger.get(ip)?.version.ms === 0);
}

describe('health agreement in a ring (virtual time, in-memory network)', () => {
  it('marks a backend dead for every node down everywhere with one write, and up again when it recovers', async () => {
    const r = await startRing(3);
    expect(BACKENDS.every((ip) => untouched(r, ip))).toBe(true);
    r.dead.add(IP1);
    const t0 = r.now;
    expect(await r.sim.until(() => r.all(IP1, true), 10_000)).toBe(true);
    // three failed rounds of one second, then one flood and one sync round
    expect(r.now - t0).toBeLessThanOrEqual(4500);
    const record = r.sim.node(r.ids[2] as string).state.ledger.get(IP1);
    expect(record?.healthDown).toBe(true);
    // the lowest node id among those that agree applied it, and nobody else wrote
    expect(record?.version.node).toBe(r.ids[0]);
    r.dead.delete(IP1);
    const t1 = r.now;
    expect(await r.sim.until(() => r.all(IP1, false), 10_000)).toBe(true);
    expect(r.now - t1).toBeLessThanOrEqual(3500);
    await r.sim.advance(30_000);
    expect(r.all(IP1, false)).toBe(true);
    expect(r.maxFlips(IP1)).toBe(2);
    expect(untouched(r, IP2) && untouched(r, IP3)).toBe(true);
    expect(r.sim.converged(), r.sim.divergence()).toBe(true);
  });

  it('does not let one node with a bad link flip a backend', async () => {
    const r = await startRing(3);
    const bad = r.ids[0] as string;
    r.cut.add(`${bad}|${IP1}`);
    await r.sim.advance(60_000);
    expect(r.all(IP1, false)).toBe(true);
    expect(untouched(r, IP1)).toBe(true);
    const seen = r.monitors
      .get(bad)
      ?.status()
      .find((b) => b.ip === IP1);
    expect(seen?.verdict).toBe('failing');
    expect(seen?.tally).toMatchObject({ voters: 3, failing: 1, ok: 2, agreed: 'ok' });
  });

  it('needs a majority: two bad links of five change nothing, three do', async () => {
    const r = await startRing(5);
    for (const id of r.ids.slice(0, 2)) r.cut.add(`${id}|${IP2}`);
    await r.sim.advance(30_000);
    expect(r.all(IP2, false)).toBe(true);
    expect(untouched(r, IP2)).toBe(true);
    r.cut.add(`${r.ids[4]}|${IP2}`);
    expect(await r.sim.until(() => r.all(IP2, true), 10_000)).toBe(true);
    expect(r.sim.node(r.ids[1] as string).state.ledger.get(IP2)?.version.node).toBe(r.ids[0]);
    await r.sim.advance(30_000);
    expect(r.maxFlips(IP2)).toBe(1);
  });

  it("holds an operator's down against healthy probes until the operator brings the backend up", async () => {
    const r = await startRing(3);
    const [a, b, c] = r.ids as [string, string, string];
    await r.sim.run(r.sim.node(b).setHostDown(IP2, true));
    await r.sim.advance(30_000);
    expect(r.all(IP2, true)).toBe(true);
    expect(r.manual(a, IP2) && r.manual(c, IP2)).toBe(true);
    await r.sim.run(r.sim.node(c).setHostDown(IP2, false));
    await r.sim.advance(30_000);
    expect(r.all(IP2, false)).toBe(true);
    expect(r.maxFlips(IP2)).toBe(2);
  });

  it("makes a health down the operator's when the operator marks it down too", async () => {
    const r = await startRing(3);
    const [a, b] = r.ids as [string, string];
    r.dead.add(IP3);
    expect(await r.sim.until(() => r.all(IP3, true), 10_000)).toBe(true);
    expect(r.manual(a, IP3)).toBe(false);
    await r.sim.run(r.sim.node(b).setHostDown(IP3, true));
    expect(r.sim.liveIds().every((id) => r.manual(id, IP3))).toBe(true);
    // recovered, but the operator said down
    r.dead.delete(IP3);
    await r.sim.advance(30_000);
    expect(r.all(IP3, true)).toBe(true);
    await r.sim.run(r.sim.node(a).setHostDown(IP3, false));
    await r.sim.advance(30_000);
    expect(r.all(IP3, false)).toBe(true);
  });

  it('hands a dead backend an operator brings up back to the health checks, which mark it down again', async () => {
    const r = await startRing(3);
    const [a, b] = r.ids as [string, string];
    r.dead.add(IP1);
    await r.sim.run(r.sim.node(a).setHostDown(IP1, true));
    await r.sim.advance(10_000);
    expect(r.manual(b, IP1)).toBe(true);
    await r.sim.run(r.sim.node(b).setHostDown(IP1, false));
    expect(await r.sim.until(() => r.all(IP1, true), 5000)).toBe(true);
    expect(r.manual(b, IP1)).toBe(false);
  });

  it('goes on without a crashed node: its vote expires and the next lowest node applies', async () => {
    const r = await startRing(3);
    const [a, b] = r.ids as [string, string];
    r.crash(a);
    r.dead.add(IP1);
    expect(await r.sim.until(() => r.all(IP1, true), 15_000)).toBe(true);
    expect(r.sim.node(b).state.ledger.get(IP1)?.version.node).toBe(b);
    // the crashed node comes back and learns the state; nobody writes again
    await r.restart(a);
    await r.sim.advance(30_000);
    expect(r.all(IP1, true)).toBe(true);
    expect(r.sim.node(a).state.ledger.get(IP1)?.version.node).toBe(b);
  });
});

describe('health agreement across partitions', () => {
  it('writes nothing while a partition splits a ring whose backends are healthy', async () => {
    const r = await startRing(5);
    const ids = r.ids as string[];
    r.sim.partition(ids.slice(0, 2), ids.slice(2));
    await r.sim.advance(30_000);
    r.sim.heal();
    await r.sim.advance(30_000);
    expect(BACKENDS.every((ip) => untouched(r, ip))).toBe(true);
    expect(BACKENDS.every((ip) => r.maxFlips(ip) === 0)).toBe(true);
  });

  it("converges to the majority's verdict after a partition whose minority could not reach a backend", async () => {
    const r = await startRing(5);
    const ids = r.ids as string[];
    const minority = ids.slice(0, 2);
    r.sim.partition(minority, ids.slice(2));
    for (const id of minority) r.cut.add(`${id}|${IP1}`);
    await r.sim.advance(30_000);
    // each side decided on what it could see
    expect(minority.every((id) => r.down(id, IP1))).toBe(true);
    expect(ids.slice(2).every((id) => !r.down(id, IP1))).toBe(true);
    r.sim.heal();
    expect(await r.sim.until(() => r.all(IP1, false), 20_000)).toBe(true);
    await r.sim.advance(60_000);
    expect(r.all(IP1, false)).toBe(true);
    // one correction at most, then steady: down and up on the minority, at most a blip elsewhere
    expect(r.maxFlips(IP1)).toBeLessThanOrEqual(2);
    expect(r.sim.converged(), r.sim.divergence()).toBe(true);
  });

  it('brings a backend that recovered during a partition up on both sides, and keeps it so after the heal', async () => {
    const r = await startRing(5);
    const ids = r.ids as string[];
    r.dead.add(IP2);
    expect(await r.sim.until(() => r.all(IP2, true), 10_000)).toBe(true);
    r.sim.partition(ids.slice(0, 2), ids.slice(2));
    await r.sim.advance(3000);
    r.dead.delete(IP2);
    expect(await r.sim.until(() => r.all(IP2, false), 15_000)).toBe(true);
    r.sim.heal();
    await r.sim.advance(60_000);
    expect(r.all(IP2, false)).toBe(true);
    expect(r.maxFlips(IP2)).toBe(2);
    expect(r.sim.converged(), r.sim.divergence()).toBe(true);
  });
});

describe('users of a backend that is down', () => {
  async function usersOn(r: HealthRing, ip: string, n: number): Promise<string[]> {
    const on: string[] = [];
    for (let i = 0; on.length < n; i++) {
      const user = `user${i}@example.com`;
      const route = await r.sim.run(r.sim.route(r.ids[i % r.ids.length] as string, user));
      if (route.backend === ip) on.push(user);
    }
    return on;
  }

  it('stay on it by default (sticky, as with HOST-DOWN)', async () => {
    const r = await startRing(3);
    const users = await usersOn(r, IP1, 10);
    r.dead.add(IP1);
    expect(await r.sim.until(() => r.all(IP1, true), 10_000)).toBe(true);
    await r.sim.advance(30_000);
    const node = r.sim.node(r.ids[1] as string);
    for (const u of users) expect(node.assignment(r.sim.hash(u), '')).toBe(IP1);
  });

  it('move to their hashed backends once it is down longer than health_move_users_after', async () => {
    const r = await startRing(3, { moveUsersAfterMs: 5000 });
    const users = await usersOn(r, IP1, 10);
    r.dead.add(IP1);
    expect(await r.sim.until(() => r.all(IP1, true), 10_000)).toBe(true);
    const downAt = r.now;
    const node = r.sim.node(r.ids[2] as string);
    const moved = () => users.every((u) => node.assignment(r.sim.hash(u), '') !== IP1);
    await r.sim.advance(3000);
    expect(moved()).toBe(false);
    expect(await r.sim.until(moved, 10_000)).toBe(true);
    expect(r.now - downAt).toBeGreaterThanOrEqual(4000);
    for (const id of r.ids) {
      for (const u of users) expect(r.sim.node(id).assignment(r.sim.hash(u), '')).not.toBe(IP1);
    }
    expect(r.sim.checker.violations).toEqual([]);
  });
});
