import { performance } from 'node:perf_hooks';
import { type Endpoint, ImapConn } from './imap-client.js';
import { rssKiB } from './proc-stats.js';

export interface IdleOptions {
  endpoint: Endpoint;
  users: readonly string[];
  password: string;
  sessions: number;
  /** Logins in flight while opening the sessions. */
  concurrency: number;
  /** The proxy process whose memory is measured. */
  pid: number;
  /** RSS of the backends in KiB, for scale. */
  backendRssKiB(): number;
  settleMs?: number;
}

export interface IdleResult {
  sessions: number;
  failures: number;
  firstError: string | undefined;
  openSeconds: number;
  rssBeforeKiB: number;
  rssHalfKiB: number;
  rssAfterKiB: number;
  /** (RSS with all sessions - RSS before) / sessions: fixed costs of the first sessions included. */
  perSessionKiB: number;
  /** RSS slope over the second half only: what one more session costs once the process is warm. */
  marginalKiB: number;
  backendPerSessionKiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS of `pid` before and after `sessions` logged-in sessions sit idle. A burst of logins and logouts
 * first, so code loaded and compiled on first use (TLS, the proxy path) is in the baseline rather
 * than charged to the sessions.
 */
export async function measureIdleSessions(opts: IdleOptions): Promise<IdleResult> {
  const settle = opts.settleMs ?? 12_000;
  const user = (i: number) => opts.users[i % opts.users.length] as string;
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const c = await ImapConn.open(opts.endpoint);
        await c.login(user(round * 50 + i), opts.password);
        await c.logout();
      }),
    );
  }
  await sleep(settle);
  const rssBeforeKiB = rssKiB(opts.pid);
  const backendBefore = opts.backendRssKiB();

  const open: ImapConn[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let next = 0;
  let openMs = 0;
  const opener = async (upTo: number): Promise<void> => {
    for (let i = next++; i < upTo; i = next++) {
      let c: ImapConn | undefined;
      try {
        c = await ImapConn.open(opts.endpoint, 60_000);
        await c.login(user(i), opts.password);
        open.push(c);
      } catch (e) {
        c?.destroy();
        failures++;
        firstError ??= (e as Error).message;
      }
    }
  };
  const openUpTo = async (upTo: number) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: opts.concurrency }, () => opener(upTo)));
    openMs += performance.now() - t0;
    // each opener overshot by one index it did not use; the next batch starts right after this one
    next = upTo;
    await sleep(settle);
  };
  const half = Math.floor(opts.sessions / 2);
  await openUpTo(half);
  const openHalf = open.length;
  const rssHalfKiB = rssKiB(opts.pid);
  await openUpTo(opts.sessions);
  const rssAfterKiB = rssKiB(opts.pid);
  const backendAfter = opts.backendRssKiB();

  for (const c of open) c.destroy();
  await Promise.all(open.map((c) => c.closed));
  const n = Math.max(1, open.length);
  return {
    sessions: open.length,
    failures,
    firstError,
    openSeconds: openMs / 1000,
    rssBeforeKiB,
    rssHalfKiB,
    rssAfterKiB,
    perSessionKiB: (rssAfterKiB - rssBeforeKiB) / n,
    marginalKiB: (rssAfterKiB - rssHalfKiB) / Math.max(1, open.length - openHalf),
    backendPerSessionKiB: (backendAfter - backendBefore) / n,
  };
}
