import type * as core from '@usher/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  compareMembers,
  FloodDedup,
  type Hlc,
  type HostRecord,
  MemoryNetwork,
  parseMember,
  type RingLink,
  SEEN_WINDOW,
  SimScheduler,
  Topology,
  track,
  type UserBatch,
} from '../src/index.js';

describe('wire types', () => {
  it('core cluster types and the ring wire types are the same shapes', () => {
    expectTypeOf<core.Hlc>().toEqualTypeOf<Hlc>();
    expectTypeOf<core.HostRecord>().toEqualTypeOf<HostRecord>();
    expectTypeOf<core.UserBatch>().toEqualTypeOf<UserBatch>();
  });
});

describe('simulated scheduler', () => {
  it('fires timers in due order, ties in creation order, and lets promises run between instants', async () => {
    const s = new SimScheduler(0);
    const seen: string[] = [];
    s.setTimeout(() => seen.push('b'), 20);
    s.setTimeout(() => {
      seen.push('a');
      void Promise.resolve().then(() => seen.push('a-then'));
    }, 10);
    s.setTimeout(() => seen.push('c'), 20);
    const cancel = s.setTimeout(() => seen.push('never'), 15);
    cancel();
    await s.advance(25);
    expect(seen).toEqual(['a', 'a-then', 'b', 'c']);
    expect(s.now()).toBe(25);
  });
});

describe('topology (director order, reference §5.2)', () => {
  it('orders by family, address bytes, port', () => {
    const ids = ['[::1]:9090', '10.0.0.2:9090', '10.0.0.10:9090', '10.0.0.2:80'];
    expect(
      ids
        .map(parseMember)
        .sort(compareMembers)
        .map((m) => m.id),
    ).toEqual(['10.0.0.2:80', '10.0.0.2:9090', '10.0.0.10:9090', '[::1]:9090']);
    expect(() => parseMember('nope')).toThrow(expect.objectContaining({ code: 'BAD_MEMBER' }));
  });

  it('right is the next live member after self, wrapping, skipping failed ones until their mark expires', () => {
    const t = new Topology('10.0.0.3:1', ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.4:1']);
    expect(t.right(0)).toBe('10.0.0.4:1');
    t.markFailed('10.0.0.4:1', 100);
    expect(t.right(50)).toBe('10.0.0.1:1');
    expect(t.right(100)).toBe('10.0.0.4:1');
    t.remove('10.0.0.4:1');
    expect(t.right(0)).toBe('10.0.0.1:1');
    expect(t.add('10.0.0.4:1')).toBe(false);
    expect(t.stepsLeft('10.0.0.2:1')).toBe(1);
  });

  it('a walk past failed members does not restart at one whose mark ran out', () => {
    const t = new Topology('10.0.0.1:1', ['10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1']);
    t.markFailedInWalk('10.0.0.2:1', 100, 0);
    t.markFailedInWalk('10.0.0.3:1', 150, 90);
    expect(t.right(120)).toBe('10.0.0.4:1');
  });
});

describe('flood de-duplication', () => {
  it('accepts each (origin, seq) once, in any order', () => {
    const d = new FloodDedup();
    expect(d.accept('a', 5)).toBe(true);
    expect(d.accept('a', 3)).toBe(true);
    expect(d.accept('a', 5)).toBe(false);
    expect(d.accept('a', 4)).toBe(true);
    expect(d.accept('a', 3)).toBe(false);
    expect(d.accept('b', 3)).toBe(true);
    expect(d.accept('a', 5 + SEEN_WINDOW + 1)).toBe(true);
    expect(d.accept('a', 4)).toBe(false);
  });
});

describe('memory transport', () => {
  async function pair(net: MemoryNetwork, s: SimScheduler) {
    const inbound: RingLink[] = [];
    await net.transport('b:1').listen((l) => inbound.push(l));
    const p = track(net.transport('a:1').connect('b:1'));
    await s.advance(10);
    return { out: p.value as RingLink, inb: inbound[0] as RingLink };
  }

  it('delivers in order per link, with jitter', async () => {
    const s = new SimScheduler(0);
    const net = new MemoryNetwork({ scheduler: s, delayMs: 2, jitterMs: 5, seed: 9 });
    const { out, inb } = await pair(net, s);
    const got: number[] = [];
    inb.onMessage((m) => m.kind === 'ping' && got.push(m.sentMs));
    for (let i = 0; i < 50; i++) out.send({ kind: 'ping', sentMs: i });
    await s.advance(100);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(inb.peer).toBe('a:1');
  });

  it('stalls across a partition and delivers after the heal; loss breaks the link', async () => {
    const s = new SimScheduler(0);
    const net = new MemoryNetwork({ scheduler: s });
    const { out, inb } = await pair(net, s);
    const got: number[] = [];
    inb.onMessage((m) => m.kind === 'ping' && got.push(m.sentMs));
    net.partition(['a:1'], ['b:1']);
    out.send({ kind: 'ping', sentMs: 1 });
    await s.advance(100);
    expect(got).toEqual([]);
    expect(out.buffered).toBeGreaterThan(0);
    net.heal();
    await s.advance(10);
    expect(got).toEqual([1]);
    const reasons: string[] = [];
    inb.onClose((r) => reasons.push(r));
    net.setLoss(1);
    out.send({ kind: 'ping', sentMs: 2 });
    await s.advance(10);
    expect(got).toEqual([1]);
    expect(reasons[0]).toMatch(/lost/);
    expect(out.send({ kind: 'ping', sentMs: 3 })).toBe(false);
  });

  it('connects fail: refused when nobody listens, timeout when unreachable', async () => {
    const s = new SimScheduler(0);
    const net = new MemoryNetwork({ scheduler: s, connectTimeoutMs: 300 });
    const refused = track(net.transport('a:1').connect('b:1'));
    await s.advance(5);
    expect((refused.error as { code: string }).code).toBe('REFUSED');
    await net.transport('c:1').listen(() => {});
    net.partition(['a:1'], ['c:1']);
    const timedOut = track(net.transport('a:1').connect('c:1'));
    await s.advance(299);
    expect(timedOut.settled).toBe(false);
    await s.advance(2);
    expect((timedOut.error as { code: string }).code).toBe('CONNECT_TIMEOUT');
  });
});
