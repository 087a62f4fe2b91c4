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
  rssAfterKiB: number;
  perSessionKiB: number;
  backendPerSessionKiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS of `pid` before and after `sessions` logged-in sessions sit idle. A burst of logins and logouts
 * first, so code loaded and compiled on first use (TLS, the proxy path) is in the baseline rather
 * than charged to the sessions.
 */
export async function measureIdleSessions(opts: IdleOptions): Promise<IdleResult> {
  const settle = opts.settleMs ?? 5000;
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
  const t0 = performance.now();
  const opener = async (): Promise<void> => {
    for (let i = next++; i < opts.sessions; i = next++) {
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
  await Promise.all(Array.from({ length: opts.concurrency }, opener));
  const openSeconds = (performance.now() - t0) / 1000;
  await sleep(settle);
  const rssAfterKiB = rssKiB(opts.pid);
  const backendAfter = opts.backendRssKiB();

  for (const c of open) c.destroy();
  await Promise.all(open.map((c) => c.closed));
  const n = Math.max(1, open.length);
  return {
    sessions: open.length,
    failures,
    firstError,
    openSeconds,
    rssBeforeKiB,
    rssAfterKiB,
    perSessionKiB: (rssAfterKiB - rssBeforeKiB) / n,
    backendPerSessionKiB: (backendAfter - backendBefore) / n,
  };
}
