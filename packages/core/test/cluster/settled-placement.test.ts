import { describe, expect, it } from 'vitest';
import { ClusterState, HostTable, userHash } from '../../src/index.js';

function cluster() {
  const hosts = new HostTable();
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) hosts.set({ ip });
  return new ClusterState({ node: 'n:1', hosts });
}

const USERS = Array.from({ length: 300 }, (_, i) => userHash(`user${i}`));

describe('unsettled rule', () => {
  it('makes no one wait while the table is settled', () => {
    const s = cluster();
    expect(s.settled.unsettled).toBe(false);
    expect(USERS.some((h) => s.settled.mustWait(h, ''))).toBe(false);
  });

  it('makes wait exactly the new users whose backend the change moves', () => {
    const s = cluster();
    const before = new Map(USERS.map((h) => [h, s.settled.lookup(h, '')?.ip.text]));
    s.setHostDown('10.0.0.3', true, 1_000_000);
    expect(s.settled.unsettled).toBe(true);
    const waiting = USERS.filter((h) => s.settled.mustWait(h, ''));
    expect(waiting.length).toBeGreaterThan(0);
    for (const h of USERS) {
      // consistent hashing: only the users of the downed host change backend
      expect(s.settled.mustWait(h, '')).toBe(before.get(h) === '10.0.0.3');
    }
    s.settled.settle();
    expect(USERS.some((h) => s.settled.mustWait(h, ''))).toBe(false);
  });

  it('a host added then removed again before settling makes no one wait', () => {
    const s = cluster();
    s.setHost({ ip: '10.0.0.4' }, 1_000_000);
    expect(USERS.some((h) => s.settled.mustWait(h, ''))).toBe(true);
    s.removeHost('10.0.0.4', 1_000_001);
    expect(s.settled.unsettled).toBe(true);
    expect(USERS.some((h) => s.settled.mustWait(h, ''))).toBe(false);
  });

  it('refuses an admin tag change, as Dovecot does', () => {
    const s = cluster();
    expect(() => s.setHost({ ip: '10.0.0.1', tag: 'x' }, 1)).toThrow(
      expect.objectContaining({ code: 'HOST_TAG_CHANGE' }),
    );
    expect(s.setHost({ ip: '10.0.0.1', vhostCount: 100 }, 1)).toBeUndefined();
  });
});
