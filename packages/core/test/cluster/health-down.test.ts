import { describe, expect, it } from 'vitest';
import { ClusterState, compareHostRecords, HostTable, isManualDown, sameHostContent } from '../../src/index.js';

const IP = '10.0.0.1';

function cluster() {
  const hosts = new HostTable();
  hosts.set({ ip: IP });
  hosts.set({ ip: '10.0.0.2' });
  return new ClusterState({ node: 'self:1', hosts });
}

describe('who set a host down (operator or health checks)', () => {
  it('marks a health down as such, and an operator down as manual', () => {
    const s = cluster();
    const health = s.setHostDown(IP, true, 1000, { health: true });
    expect(health).toMatchObject({ down: true, healthDown: true });
    expect(isManualDown(health as NonNullable<typeof health>)).toBe(false);
    const manual = s.setHostDown('10.0.0.2', true, 2000);
    expect(manual?.down).toBe(true);
    expect(manual).not.toHaveProperty('healthDown');
    expect(isManualDown(manual as NonNullable<typeof manual>)).toBe(true);
  });

  it("never lets the health checks change an operator's down", () => {
    const s = cluster();
    s.setHostDown(IP, true, 1000);
    expect(s.setHostDown(IP, false, 2000, { health: true })).toBeUndefined();
    expect(s.setHostDown(IP, true, 3000, { health: true })).toBeUndefined();
    expect(s.hosts.get(IP)?.down).toBe(true);
    expect(isManualDown(s.ledger.get(IP) as NonNullable<ReturnType<typeof s.ledger.get>>)).toBe(true);
  });

  it('turns a health down into an operator down when the operator says down, keeping the time it went down', () => {
    const s = cluster();
    const first = s.setHostDown(IP, true, 5000, { health: true });
    const second = s.setHostDown(IP, true, 9000);
    expect(second).toBeDefined();
    expect(second).not.toHaveProperty('healthDown');
    expect(second?.lastUpdownChange).toBe(first?.lastUpdownChange);
    expect(s.setHostDown(IP, true, 9500)).toBeUndefined();
  });

  it('lets an operator bring a health down back up, and health then take it down again', () => {
    const s = cluster();
    s.setHostDown(IP, true, 1000, { health: true });
    expect(s.setHostDown(IP, false, 2000)?.down).toBe(false);
    expect(s.setHostDown(IP, true, 3000, { health: true })?.healthDown).toBe(true);
  });

  it('keeps the flag through an update that does not touch the down state', () => {
    const s = cluster();
    s.setHostDown(IP, true, 1000, { health: true });
    expect(s.setHost({ ip: IP, vhostCount: 7 }, 2000)).toMatchObject({ down: true, healthDown: true, vhostCount: 7 });
    // an operator's explicit down through an update is the operator's
    expect(s.setHost({ ip: IP, down: true }, 3000)).not.toHaveProperty('healthDown');
  });

  it('tells records apart by the flag, and orders them alike everywhere', () => {
    const s = cluster();
    const a = s.setHostDown(IP, true, 1000, { health: true }) as NonNullable<ReturnType<typeof s.setHostDown>>;
    const { healthDown: _, ...b } = a;
    expect(sameHostContent(a, b)).toBe(false);
    expect(Math.sign(compareHostRecords(a, b))).toBe(-Math.sign(compareHostRecords(b, a)));
    expect(compareHostRecords(a, b)).not.toBe(0);
  });
});
