import { describe, expect, it } from 'vitest';
import { RingSimulation, track } from '../src/index.js';

const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function ring(n: number) {
  const sim = new RingSimulation({ nodes: n, backends: BACKENDS, seed: 3, node: { userKickDelayMs: 500 } });
  await sim.start();
  expect(await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 20_000)).toBe(true);
  await sim.advance(500);
  return sim;
}

describe('moving a user (a ring-wide transaction)', () => {
  it('kicks on every node, holds logins until the ring confirmed plus the kick delay, then continues', async () => {
    const sim = await ring(6);
    const ids = sim.ids;
    const user = 'carol@example.com';
    const hash = sim.hash(user);
    const from = (await sim.run(sim.route(ids[0] as string, user))).backend;
    for (const id of ids) await sim.run(sim.route(id, user));
    await sim.advance(200);
    const to = BACKENDS.find((b) => b !== from) as string;
    const started = sim.scheduler.now();
    const move = sim.node(ids[2] as string).moveUser(hash, '', to);
    const moveDone = track(move);
    await sim.advance(5);
    // a login arriving during the move waits
    const during = sim.route(ids[4] as string, user);
    const duringDone = track(during);
    await sim.run(move);
    const tookMs = sim.scheduler.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(500);
    expect(moveDone.settled).toBe(true);
    for (const id of ids) {
      expect(
        sim
          .kicksOf(id)
          .kickedHash(hash)
          .some((k) => k.exceptBackend === to),
      ).toBe(true);
    }
    expect((await sim.run(during)).backend).toBe(to);
    expect(duringDone.settled).toBe(true);
    for (const id of ids) expect((await sim.run(sim.route(id, user))).backend).toBe(to);
    expect(sim.checker.violations).toEqual([]);
    expect(sim.converged(), sim.divergence()).toBe(true);
    await sim.stopAll();
  });

  it('a second move of a user still moving answers TRYAGAIN', async () => {
    const sim = await ring(3);
    const [a, b] = sim.ids as [string, string];
    const hash = sim.hash('dave');
    await sim.run(sim.route(a, 'dave'));
    const first = sim.node(a).moveUser(hash, '', '10.0.0.1');
    await sim.advance(1);
    await expect(sim.node(b).moveUser(hash, '', '10.0.0.2')).rejects.toMatchObject({ code: 'TRYAGAIN' });
    await sim.run(first);
    await sim.stopAll();
  });

  it('resetHostUsers moves the users of a downed host to their placement, a few at a time', async () => {
    const sim = await ring(4);
    const [a, b, c] = sim.ids as [string, string, string];
    const users = Array.from({ length: 80 }, (_, i) => `u${i}`);
    for (const u of users) await sim.run(sim.route(a, u));
    await sim.advance(200);
    const onHost3 = users.filter((u) => sim.node(b).assignment(sim.hash(u), '') === '10.0.0.3');
    expect(onHost3.length).toBeGreaterThan(0);
    await sim.run(sim.node(b).setHostDown('10.0.0.3', true));
    // existing users stay where they are (Dovecot semantics)
    for (const u of onHost3) expect((await sim.run(sim.route(c, u))).backend).toBe('10.0.0.3');
    const result = await sim.run(sim.node(b).resetHostUsers('10.0.0.3', 8));
    expect(result).toEqual({ moved: onHost3.length, failed: 0, unplaceable: 0 });
    for (const u of onHost3) {
      const backend = (await sim.run(sim.route(c, u))).backend;
      expect(backend).not.toBe('10.0.0.3');
      expect(sim.kicksOf(a).kickedHash(sim.hash(u)).length).toBeGreaterThan(0);
    }
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });

  it('flushHost drops assignments without kicking (unsafe, as Dovecot)', async () => {
    const sim = await ring(3);
    const [a, b] = sim.ids as [string, string];
    const users = Array.from({ length: 40 }, (_, i) => `f${i}`);
    for (const u of users) await sim.run(sim.route(a, u));
    await sim.advance(200);
    await sim.run(sim.node(a).setHostDown('10.0.0.2', true));
    const moved = await sim.run(sim.node(b).flushHost('10.0.0.2'));
    expect(moved).toBeGreaterThan(0);
    for (const id of sim.ids) expect(sim.kicksOf(id).kicks).toEqual([]);
    for (const u of users) expect((await sim.run(sim.route(a, u))).backend).not.toBe('10.0.0.2');
    expect(sim.log.some((l) => l.includes('unsafe'))).toBe(true);
    await sim.stopAll();
  });

  it('a login near expiry whose placement changed moves the user ring-wide instead of extending it', async () => {
    const sim = new RingSimulation({
      nodes: 3,
      backends: BACKENDS,
      seed: 8,
      node: { userExpireSecs: 10, userKickDelayMs: 100 },
    });
    await sim.start();
    await sim.until(() => sim.liveIds().every((id) => sim.node(id).status().ready), 10_000);
    const [a, b] = sim.ids as [string, string];
    const user = 'erin@example.com';
    const hash = sim.hash(user);
    const first = (await sim.run(sim.route(a, user))).backend;
    await sim.run(sim.node(a).setHostDown(first, true));
    // far from expiry the existing assignment wins, down host or not (Dovecot semantics)
    expect((await sim.run(sim.route(b, user))).backend).toBe(first);
    await sim.advance(8500);
    const r = await sim.run(sim.route(b, user));
    expect(r.backend).not.toBe(first);
    for (const id of sim.ids)
      expect(
        sim
          .kicksOf(id)
          .kickedHash(hash)
          .some((k) => k.exceptBackend === r.backend),
      ).toBe(true);
    expect(sim.checker.violations).toEqual([]);
    await sim.stopAll();
  });
});
