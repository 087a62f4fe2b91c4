import { type AdminLog, HostUpdateRefusedError, NotFoundError, type SelfRow, TryAgainError } from '@usher/admin';
import { HashFormatError, HostTable, Placement, UserHasher } from '@usher/core';
import { RingSimulation, track } from '@usher/ring';
import { describe, expect, it } from 'vitest';
import { KickSlots } from '../../src/admin/kick-slots.js';
import { RingAdminApi } from '../../src/admin/ring-admin-api.js';

// An in-memory ring (virtual time): no sockets, so any addresses do.
const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const hasher = new UserHasher('%Lu');

async function ring(n = 3): Promise<RingSimulation> {
  const sim = new RingSimulation({ nodes: n, backends: BACKENDS, seed: 11 });
  await sim.start();
  const linked = (id: string) => {
    const st = sim.node(id).status();
    return st.ready && st.synced && st.peers.filter((p) => p.state === 'up').length === Math.min(2, n - 1);
  };
  expect(await sim.until(() => sim.liveIds().every(linked), 20_000)).toBe(true);
  return sim;
}

function api(sim: RingSimulation, id: string, opts: { kicks?: number; hasher?: UserHasher } = {}) {
  const warnings: string[] = [];
  const log: AdminLog = { info() {}, warn: (m) => warnings.push(m), error() {} };
  const configured = BACKENDS.map((ip) => ({ ip }));
  const a = new RingAdminApi({
    ring: sim.node(id),
    hasher: opts.hasher ?? hasher,
    initialHosts: configured,
    configuredHosts: async () => configured,
    maxParallelKicks: opts.kicks ?? 100,
    maxParallelMoves: 10,
    log,
    clock: () => sim.scheduler.now(),
  });
  return Object.assign(a, { warnings });
}

function placed(user: string, hosts: readonly string[]): string {
  const t = new HostTable();
  for (const ip of hosts) t.set({ ip });
  return new Placement(t).lookup(hasher.hash(user))?.ip.text as string;
}

const USERS = Array.from({ length: 30 }, (_, i) => `user${i}@example.com`);

describe('RingAdminApi reads the replicated state', () => {
  it('hostList counts users; userLookup takes a name or an all-digit hash; userList lists them', async () => {
    const sim = await ring();
    const [a, b] = sim.ids as [string, string];
    for (const u of USERS) await sim.run(sim.route(b, u));
    await sim.advance(500);
    const admin = api(sim, a);
    const hosts = await admin.hostList();
    expect(hosts.map((h) => h.ip)).toEqual(BACKENDS);
    expect(hosts.reduce((s, h) => s + h.users, 0)).toBe(USERS.length);
    const [user] = USERS as [string];
    const byName = await admin.userLookup(user, '');
    expect(byName).toMatchObject({ current: { ip: placed(user, BACKENDS) }, hashedIp: placed(user, BACKENDS) });
    const nowSecs = Math.floor(sim.scheduler.now() / 1000);
    // director_user_expire is 60 s in the simulation; the user was placed a moment ago
    expect(byName.current?.expires).toBeGreaterThan(nowSecs + 50);
    expect(byName.current?.expires).toBeLessThanOrEqual(nowSecs + 60);
    expect(await admin.userLookup(String(hasher.hash(user)), '')).toEqual(byName);
    expect(await admin.userLookup(user, 'no-such-tag')).toMatchObject({
      current: undefined,
      hashedIp: '',
      initialIp: '',
    });
    const list = await admin.userList();
    expect(list).toHaveLength(USERS.length);
    expect(await admin.userList(BACKENDS[0])).toEqual(list.filter((u) => u.ip === BACKENDS[0]));
    expect(await admin.userList('10.0.0.9')).toEqual([]);
    await sim.stopAll();
  });

  it('initial config and removed hosts come from director_mail_servers; removing a host with users warns', async () => {
    const sim = await ring();
    const [a, , c] = sim.ids as [string, string, string];
    for (const u of USERS) await sim.run(sim.route(c, u));
    await sim.advance(500);
    const admin = api(sim, a);
    await sim.run(admin.hostRemove('10.0.0.3'));
    expect(admin.warnings.join('\n')).toMatch(
      /Removed backend 10\.0\.0\.3 with \d+ users\. This is an unsafe operation/,
    );
    expect(await admin.hostListRemoved()).toEqual(['10.0.0.3']);
    const user = USERS.find((u) => placed(u, BACKENDS) === '10.0.0.3') as string;
    expect(await api(sim, c).userLookup(user, '')).toMatchObject({
      current: undefined,
      hashedIp: placed(user, ['10.0.0.1', '10.0.0.2']),
      initialIp: '10.0.0.3',
    });
    await sim.stopAll();
  });
});

describe('RingAdminApi changes the ring as Dovecot would', () => {
  it('refuses what Dovecot refuses, with its reply texts', async () => {
    const sim = await ring();
    const admin = api(sim, sim.ids[0] as string);
    await expect(admin.hostSet({ ip: '10.0.0.1', vhostCount: 1001 })).rejects.toMatchObject({
      reply: 'vhost count too large',
    });
    await expect(admin.hostSet({ ip: '10.0.0.1', tag: 'x' })).rejects.toBeInstanceOf(HostUpdateRefusedError);
    await expect(admin.hostUpdate({ ip: '10.0.0.9', vhostCount: 5 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(sim.run(admin.hostUp('10.0.0.9'))).rejects.toMatchObject({ reply: 'NOTFOUND' });
    await expect(sim.run(admin.hostFlush('10.0.0.9'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(sim.run(admin.hostResetUsers('10.0.0.9'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(admin.userMove('john', '10.0.0.9')).rejects.toBeInstanceOf(NotFoundError);
    await expect(admin.directorRemove('10.9.9.9')).rejects.toBeInstanceOf(NotFoundError);
    await sim.stopAll();
  });

  it('a new tagged host, an empty tag keeping the old one, and vhost changes reach every node', async () => {
    const sim = await ring();
    const [a, b, c] = sim.ids as [string, string, string];
    await sim.run(api(sim, a).hostSet({ ip: '10.0.0.4', tag: 't', vhostCount: 7 }));
    expect(sim.node(c).state.hosts.get('10.0.0.4')).toMatchObject({ tag: 't', vhostCount: 7 });
    await sim.run(api(sim, b).hostUpdate({ ip: '10.0.0.4', tag: '', vhostCount: 9 }));
    expect(sim.node(a).state.hosts.get('10.0.0.4')).toMatchObject({ tag: 't', vhostCount: 9 });
    await sim.run(api(sim, c).hostDown('10.0.0.4'));
    expect(sim.node(a).state.hosts.get('10.0.0.4')?.down).toBe(true);
    await sim.stopAll();
  });

  it('a move reaches every node; a second move of the same user meanwhile is TRYAGAIN', async () => {
    const sim = await ring();
    const [a, , c] = sim.ids as [string, string, string];
    const user = USERS[3] as string;
    await sim.run(sim.route(c, user));
    const to = BACKENDS.find((ip) => ip !== placed(user, BACKENDS)) as string;
    const admin = api(sim, a);
    const first = track(admin.userMove(user, to));
    await expect(admin.userMove(user, to)).rejects.toBeInstanceOf(TryAgainError);
    await sim.until(() => first.settled, 30_000);
    expect(first.error).toBeUndefined();
    expect(sim.node(c).assignment(hasher.hash(user), '')).toBe(to);
    await sim.stopAll();
  });

  it('kicks beyond director_max_parallel_kicks wait, or are TRYAGAIN with nowait', async () => {
    const sim = await ring();
    const admin = api(sim, sim.ids[0] as string, { kicks: 1 });
    const first = track(admin.userKick('a@example.com', false));
    await expect(admin.userKick('b@example.com', true)).rejects.toBeInstanceOf(TryAgainError);
    await expect(admin.userKickAlt('user_x', 'b', true)).rejects.toBeInstanceOf(TryAgainError);
    const queued = track(admin.userKick('c@example.com', false));
    await sim.until(() => first.settled && queued.settled, 30_000);
    expect([first.error, queued.error]).toEqual([undefined, undefined]);
    for (const id of sim.ids) {
      const kicked = sim.kicksOf(id).kicks.map((k) => k.username);
      expect(kicked).toEqual(expect.arrayContaining(['a@example.com', 'c@example.com']));
      expect(kicked).not.toContain('b@example.com');
    }
    await sim.stopAll();
  });

  it('an unexpandable director_username_hash is TRYAGAIN', async () => {
    const sim = await ring(1);
    const failing = {
      hash: () => {
        throw new HashFormatError('unknown variable', { format: '%x' });
      },
    } as unknown as UserHasher;
    await expect(api(sim, sim.ids[0] as string, { hasher: failing }).userLookup('john', '')).rejects.toBeInstanceOf(
      TryAgainError,
    );
    await sim.stopAll();
  });
});

describe('RingAdminApi ring membership', () => {
  it('lists itself and its neighbours in director order; add and remove members everywhere', async () => {
    const sim = await ring();
    const [a, b, c] = sim.ids as [string, string, string];
    const rows = await api(sim, a).directorList();
    expect(rows.map((r) => [`${r.ip}:${r.port}`, r.kind === 'link' ? r.type : r.kind])).toEqual([
      [a, 'self'],
      [b, 'right'],
      [c, 'left'],
    ]);
    expect((rows[0] as SelfRow).ring).toBe('synced');
    await sim.run(api(sim, b).directorAdd('127.0.1.9'));
    expect((await api(sim, c).directorList()).some((r) => r.ip === '127.0.1.9' && r.port === 9090)).toBe(true);
    await sim.run(api(sim, c).directorRemove('127.0.1.9'));
    await sim.advance(200);
    for (const id of sim.ids) expect((await api(sim, id).directorList()).some((r) => r.ip === '127.0.1.9')).toBe(false);
    await sim.stopAll();
  });
});

describe('KickSlots', () => {
  it('hands a freed slot to the oldest waiter', async () => {
    const slots = new KickSlots(1);
    const order: string[] = [];
    let release!: () => void;
    const first = slots.run(false, () => new Promise<void>((r) => (release = r)).then(() => order.push('1')));
    const second = slots.run(false, async () => order.push('2'));
    expect(await slots.run(true, async () => order.push('x'))).toBeUndefined();
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['1', '2']);
    expect(slots.busy).toBe(false);
  });
});
