import { describe, expect, it } from 'vitest';
import { HostLedger, type HostRecord, HostTable, ReplicatedUsers } from '../../src/index.js';

function rec(ip: string, ms: number, over: Partial<HostRecord> = {}): HostRecord {
  return {
    ip,
    tag: '',
    vhostCount: 100,
    down: false,
    lastUpdownChange: 0,
    hostname: '',
    removed: false,
    version: { ms, counter: 0, node: 'n1' },
    ...over,
  };
}

function ledger(config: string[] = []) {
  const table = new HostTable();
  for (const ip of config) table.set({ ip });
  const users = new ReplicatedUsers({ hosts: table });
  return { table, users, ledger: new HostLedger(table, 'self:1', (id) => users.dropHost(id)) };
}

describe('host ledger (last writer wins by HLC)', () => {
  it('applies a newer record and ignores an older or equal one', () => {
    const { table, ledger: l } = ledger();
    expect(l.merge([rec('10.0.0.1', 10, { vhostCount: 50 })]).applied).toHaveLength(1);
    expect(l.merge([rec('10.0.0.1', 5, { vhostCount: 7 })]).applied).toHaveLength(0);
    expect(l.merge([rec('10.0.0.1', 10, { vhostCount: 50 })]).applied).toHaveLength(0);
    expect(table.get('10.0.0.1')?.vhostCount).toBe(50);
  });

  it('keeps a tombstone so an older set cannot resurrect the host, and drops its users', () => {
    const { table, users, ledger: l } = ledger();
    l.merge([rec('10.0.0.1', 10)]);
    const id = table.get('10.0.0.1')?.id as number;
    users.assign(0, 42, id, 1000, 0);
    l.merge([rec('10.0.0.1', 20, { removed: true })]);
    expect(table.get('10.0.0.1')).toBeUndefined();
    expect(users.size).toBe(0);
    l.merge([rec('10.0.0.1', 15)]);
    expect(table.get('10.0.0.1')).toBeUndefined();
    expect(l.get('10.0.0.1')?.removed).toBe(true);
    expect(l.gc(21)).toBe(1);
    expect(l.get('10.0.0.1')).toBeUndefined();
  });

  it('forgets the users of a host whose tag changed over the ring', () => {
    const { table, users, ledger: l } = ledger();
    l.merge([rec('10.0.0.1', 10)]);
    users.assign(0, 42, table.get('10.0.0.1')?.id as number, 1000, 0);
    l.merge([rec('10.0.0.1', 11, { tag: 'x' })]);
    expect(table.get('10.0.0.1')?.tag).toBe('x');
    expect(users.size).toBe(0);
  });

  it('normalizes address spelling and clears a hostname', () => {
    const { table, ledger: l } = ledger();
    l.merge([rec('2001:0DB8::1', 10, { hostname: 'mail1' })]);
    expect(table.get('2001:db8::1')?.hostname).toBe('mail1');
    l.merge([rec('2001:db8::1', 11)]);
    expect(table.get('2001:db8::1')?.hostname).toBeUndefined();
  });

  it('rejects records it cannot apply, with context', () => {
    const { ledger: l } = ledger();
    const r = l.merge([rec('not-an-ip', 1), rec('10.0.0.1', 1, { vhostCount: 5000 })]);
    expect(r.rejected.map((x) => x.error.code)).toEqual(['BAD_HOST_RECORD', 'BAD_HOST_RECORD']);
  });

  describe('configuration versus runtime history', () => {
    it('a node with history ignores a configured host it never heard of', () => {
      const { table, ledger: l } = ledger();
      l.merge([rec('10.0.0.1', 10)]);
      l.merge([rec('10.0.0.9', 0)]);
      expect(table.get('10.0.0.9')).toBeUndefined();
    });

    it('a fresh node adopts the ring table over its own stale config', () => {
      const { table, ledger: l } = ledger(['10.0.0.1', '10.0.0.9']);
      l.merge([rec('10.0.0.1', 0, { node: 'x' } as never), rec('10.0.0.2', 50)], { wholeTable: true });
      expect(table.list().map((h) => h.ip.text)).toEqual(['10.0.0.1', '10.0.0.2']);
      expect(l.hasHistory).toBe(true);
    });

    it('two fresh nodes union their configs', () => {
      const { table, ledger: l } = ledger(['10.0.0.1']);
      l.merge([rec('10.0.0.2', 0)], { wholeTable: true });
      expect(table.list().map((h) => h.ip.text)).toEqual(['10.0.0.1', '10.0.0.2']);
    });
  });
});
