import { describe, expect, it } from 'vitest';
import { HostTable, LocalRouter, RoutingError, UserHasher } from '../../src/index.js';

function setup(expire = 900) {
  let nowMs = 1_800_000_000_000;
  const hosts = new HostTable();
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) hosts.set({ ip });
  const router = new LocalRouter({
    hosts,
    hasher: new UserHasher('%Lu'),
    clock: { now: () => nowMs },
    userExpireSecs: expire,
  });
  return { hosts, router, advance: (secs: number) => (nowMs += secs * 1000) };
}

describe('LocalRouter (standalone node)', () => {
  it('places a new user on the vhost ring and reports the hash', async () => {
    const { router } = setup();
    await expect(router.route('john', '')).resolves.toEqual({ backend: '10.0.0.3', userHash: 1383847349, tag: '' });
    expect(router.directory.size).toBe(1);
  });

  it('keeps an existing user on a host that went down (only new users move)', async () => {
    const { router, hosts } = setup();
    await router.route('john', '');
    hosts.setDown('10.0.0.3', true, 1);
    expect((await router.route('john', '')).backend).toBe('10.0.0.3');
    expect((await router.route('JOHN@x', '')).backend).not.toBe('10.0.0.3');
  });

  it('forgets a user user_expire after the last refresh, and refresh() keeps it', async () => {
    const { router, hosts, advance } = setup(60);
    await router.route('john', '');
    hosts.setDown('10.0.0.3', true, 1);
    advance(40);
    router.refresh(1383847349, '');
    advance(40);
    expect((await router.route('john', '')).backend).toBe('10.0.0.3');
    advance(61);
    expect((await router.route('john', '')).backend).toBe('10.0.0.1');
    expect(router.refreshIntervalMs).toBe(30_000);
  });

  it('re-places a user whose host was removed', async () => {
    const { router, hosts } = setup();
    await router.route('john', '');
    expect(router.forgetBackend('10.0.0.3')).toBe(1);
    hosts.remove('10.0.0.3');
    expect((await router.route('john', '')).backend).toBe('10.0.0.1');
  });

  it('keeps users per tag', async () => {
    const { router, hosts } = setup();
    hosts.set({ ip: '10.0.1.1', tag: 'blue' });
    expect((await router.route('john', 'blue')).backend).toBe('10.0.1.1');
    expect((await router.route('john', '')).backend).toBe('10.0.0.3');
    expect(router.directory.size).toBe(2);
  });

  it('fails temporarily, never with a wrong backend', async () => {
    const { router } = setup();
    await expect(router.route('john', 'nosuchtag')).rejects.toMatchObject({ code: 'NO_HOSTS' });
    const bad = new LocalRouter({ hosts: new HostTable(), hasher: new UserHasher('%Lu'), clock: { now: () => 0 } });
    await expect(bad.route('john', '')).rejects.toBeInstanceOf(RoutingError);
  });
});
