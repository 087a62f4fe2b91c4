import { describe, expect, it } from 'vitest';
import { HostSpecError, HostTable, HostTableError } from '../../src/index.js';

describe('host table', () => {
  it('computes hosts_hash as the real director logged it (reference §3.5)', () => {
    const t = new HostTable();
    t.set({ ip: '127.0.4.3', tag: 'tagx' });
    t.set({ ip: '127.0.4.1' });
    t.set({ ip: '127.0.4.2' });
    expect(t.hostsHash()).toBe(1220709584);
  });

  it('hashes a down host with vhost_count 100 like an up host with 101 (the XOR)', () => {
    const a = new HostTable();
    a.set({ ip: '10.0.0.1', vhostCount: 100, down: true });
    const b = new HostTable();
    b.set({ ip: '10.0.0.1', vhostCount: 101 });
    expect(a.hostsHash()).toBe(b.hostsHash());
  });

  it('keeps the director order and stable ids across removal', () => {
    const t = new HostTable();
    const b = t.set({ ip: '10.0.0.2' });
    const v6 = t.set({ ip: '::1' });
    const a = t.set({ ip: '10.0.0.10' });
    expect(t.list().map((h) => h.ip.text)).toEqual(['10.0.0.2', '10.0.0.10', '::1']);
    t.remove('10.0.0.2');
    expect(t.byHostId(a.id)?.ip.text).toBe('10.0.0.10');
    expect(t.byHostId(v6.id)?.ip.text).toBe('::1');
    expect(t.byHostId(b.id)).toBeUndefined();
    expect(t.set({ ip: '10.0.0.3' }).id).toBe(b.id); // ids are reused, so they stay small
  });

  it('records up/down changes with their time, never moving the time back', () => {
    const t = new HostTable();
    t.set({ ip: '10.0.0.1' });
    const v = t.version;
    expect(t.setDown('10.0.0.1', true, 1000)).toMatchObject({ down: true, lastUpdownChange: 1000 });
    expect(t.version).toBeGreaterThan(v);
    expect(t.setDown('10.0.0.1', true, 2000).lastUpdownChange).toBe(1000); // same state: no change
    expect(t.setDown('10.0.0.1', false, 500).lastUpdownChange).toBe(1000);
  });

  it('enforces vhost_count 0..1000 and refuses tag changes', () => {
    const t = new HostTable();
    t.set({ ip: '10.0.0.1', tag: 'a', vhostCount: 0 });
    t.set({ ip: '10.0.0.2', vhostCount: 1000 });
    expect(() => t.set({ ip: '10.0.0.3', vhostCount: 1001 })).toThrow(HostSpecError);
    expect(() => t.set({ ip: '10.0.0.3', vhostCount: -1 })).toThrow(HostSpecError);
    expect(() => t.set({ ip: '10.0.0.1', tag: 'b' })).toThrow(HostTableError);
    expect(t.setVhostCount('10.0.0.1', 5).vhostCount).toBe(5);
  });
});
