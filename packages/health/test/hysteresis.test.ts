import { describe, expect, it } from 'vitest';
import { type HysteresisState, INITIAL, step, type Verdict } from '../src/index.js';

/** Run a probe history ("x" failed, "." passed) through the hysteresis; the verdict after each probe. */
function run(history: string, failCount: number, okCount: number, from: HysteresisState = INITIAL): Verdict[] {
  let s = from;
  return [...history].map((ch, i) => {
    s = step(s, ch === '.', 1000 + i, { failCount, okCount });
    return s.verdict;
  });
}

const U = 'unknown';
const O = 'ok';
const F = 'failing';

describe('hysteresis', () => {
  it.each<[string, number, number, Verdict[]]>([
    // history, fail count, ok count, verdict after each probe
    ['...', 3, 2, [U, O, O]],
    ['xxx', 3, 2, [U, U, F]],
    ['xx.xx', 3, 2, [U, U, U, U, U]],
    ['..xx.', 3, 2, [U, O, O, O, O]],
    ['..xxx', 3, 2, [U, O, O, O, F]],
    ['..xxx.x.', 3, 2, [U, O, O, O, F, F, F, F]],
    ['..xxx..', 3, 2, [U, O, O, O, F, F, O]],
    ['x.x.x.x.', 2, 2, [U, U, U, U, U, U, U, U]],
    ['x', 1, 1, [F]],
    ['x.x.', 1, 1, [F, O, F, O]],
    // a count of 0 is treated as 1: a verdict needs at least one probe
    ['.', 1, 0, [O]],
  ])('%s with fail=%i ok=%i', (history, failCount, okCount, expected) => {
    expect(run(history, failCount, okCount)).toEqual(expected);
  });

  it('records when the verdict changed, not when the last probe ran', () => {
    let s = INITIAL;
    const limits = { failCount: 2, okCount: 1 };
    s = step(s, true, 100, limits);
    expect(s).toEqual({ verdict: 'ok', sinceMs: 100, failures: 0, successes: 1 });
    s = step(s, true, 200, limits);
    expect(s.sinceMs).toBe(100);
    s = step(s, false, 300, limits);
    s = step(s, false, 400, limits);
    expect(s).toEqual({ verdict: 'failing', sinceMs: 400, failures: 2, successes: 0 });
    s = step(s, false, 500, limits);
    expect(s.sinceMs).toBe(400);
  });
});
