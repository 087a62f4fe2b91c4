import { ConnectionLimiter } from '@usher/proxy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('ConnectionLimiter', () => {
  it('refuses past the limit per IP and frees a slot on release', () => {
    const l = new ConnectionLimiter(2);
    const a1 = l.tryAcquire('192.0.2.1');
    const a2 = l.tryAcquire('192.0.2.1');
    expect(a1 && a2).toBeTruthy();
    expect(l.tryAcquire('192.0.2.1')).toBeUndefined();
    expect(l.tryAcquire('192.0.2.2')).toBeDefined();
    a1?.();
    expect(l.count('192.0.2.1')).toBe(1);
    expect(l.tryAcquire('192.0.2.1')).toBeDefined();
  });

  it('a release called twice frees one slot only', () => {
    const l = new ConnectionLimiter(1);
    const r = l.tryAcquire('192.0.2.1');
    r?.();
    r?.();
    const again = l.tryAcquire('192.0.2.1');
    expect(again).toBeDefined();
    r?.();
    expect(l.count('192.0.2.1')).toBe(1);
  });

  it('0 means unlimited', () => {
    const l = new ConnectionLimiter(0);
    for (let i = 0; i < 1000; i++) expect(l.tryAcquire('192.0.2.1')).toBeDefined();
    expect(l.count('192.0.2.1')).toBe(1000);
  });

  it('counts match a model and forget IPs with no connection', () => {
    const ips = ['a', 'b', 'c'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom(...ips), fc.nat()), { maxLength: 80 }),
        (max, ops) => {
          const l = new ConnectionLimiter(max);
          const held = new Map<string, Array<() => void>>(ips.map((ip) => [ip, []]));
          for (const [acquire, ip, pick] of ops) {
            const mine = held.get(ip) as Array<() => void>;
            if (acquire) {
              const r = l.tryAcquire(ip);
              expect(r === undefined).toBe(mine.length >= max);
              if (r) mine.push(r);
            } else if (mine.length > 0) {
              const [r] = mine.splice(pick % mine.length, 1);
              r?.();
            }
            expect(l.count(ip)).toBe(mine.length);
          }
          expect(l.size).toBe([...held.values()].filter((h) => h.length > 0).length);
        },
      ),
    );
  });
});
