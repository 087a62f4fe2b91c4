/**
 * One node's verdict on one backend from its probe results: a single failed probe (a login process
 * restarting, a dropped SYN) must not flip a backend, nor a single success bring a broken one back.
 * `failCount` consecutive failures make it failing, `okCount` consecutive successes make it ok. Until
 * either threshold is first reached the verdict is unknown, and the node does not vote.
 *
 * Pure: the state is a value, time comes in as an argument.
 */
export type Verdict = 'unknown' | 'ok' | 'failing';

export interface HysteresisState {
  readonly verdict: Verdict;
  /** Unix ms of the last verdict change (0 while unknown). */
  readonly sinceMs: number;
  /** Consecutive failed probes so far (0 after a success). */
  readonly failures: number;
  /** Consecutive successful probes so far (0 after a failure). */
  readonly successes: number;
}

export interface HysteresisLimits {
  /** health_check_fail_count (>= 1). */
  readonly failCount: number;
  /** health_check_ok_count (>= 1). */
  readonly okCount: number;
}

export const INITIAL: HysteresisState = { verdict: 'unknown', sinceMs: 0, failures: 0, successes: 0 };

/** The state after one more probe result. */
export function step(state: HysteresisState, ok: boolean, nowMs: number, limits: HysteresisLimits): HysteresisState {
  const failures = ok ? 0 : state.failures + 1;
  const successes = ok ? state.successes + 1 : 0;
  let verdict = state.verdict;
  if (ok && successes >= Math.max(1, limits.okCount)) verdict = 'ok';
  if (!ok && failures >= Math.max(1, limits.failCount)) verdict = 'failing';
  return {
    verdict,
    sinceMs: verdict === state.verdict ? state.sinceMs : nowMs,
    failures,
    successes,
  };
}
