import { describe, expect, it } from 'vitest';
import { compareHlc, HlcClock } from '../../src/index.js';

describe('hybrid logical clock', () => {
  it('follows wall time and counts within one millisecond', () => {
    const c = new HlcClock('a');
    expect(c.tick(1000)).toEqual({ ms: 1000, counter: 0, node: 'a' });
    expect(c.tick(1000)).toEqual({ ms: 1000, counter: 1, node: 'a' });
    expect(c.tick(1001)).toEqual({ ms: 1001, counter: 0, node: 'a' });
  });

  it('never goes backwards when the wall clock does', () => {
    const c = new HlcClock('a');
    const first = c.tick(5000);
    const second = c.tick(4000);
    expect(compareHlc(second, first)).toBeGreaterThan(0);
  });

  it('orders the next local version after any version it has observed', () => {
    const c = new HlcClock('a');
    c.tick(1000);
    const remote = { ms: 9000, counter: 7, node: 'b' };
    c.observe(remote, 1001);
    expect(compareHlc(c.tick(1002), remote)).toBeGreaterThan(0);
    c.observe({ ms: 9000, counter: 3, node: 'c' }, 1003);
    expect(compareHlc(c.tick(1003), remote)).toBeGreaterThan(0);
  });

  it.each([
    [{ ms: 1, counter: 0, node: 'a' }, { ms: 2, counter: 0, node: 'a' }, -1],
    [{ ms: 2, counter: 1, node: 'a' }, { ms: 2, counter: 0, node: 'z' }, 1],
    [{ ms: 2, counter: 1, node: 'a' }, { ms: 2, counter: 1, node: 'b' }, -1],
    [{ ms: 2, counter: 1, node: 'b' }, { ms: 2, counter: 1, node: 'b' }, 0],
  ])('compares %o with %o', (a, b, sign) => {
    expect(Math.sign(compareHlc(a, b))).toBe(sign);
  });
});
