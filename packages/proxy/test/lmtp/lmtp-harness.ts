import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostTable, Placement, type Route, type Router, RoutingError, UserHasher } from '@usher/core';
import { handleLmtpConnection, type ProxyContext, type ProxyLimits } from '@usher/proxy';
import type { DovecotCluster } from '@usher/testkit';
import { startTestListener, type TestListener, testContext } from '../harness/test-proxy.js';

export const PROXY_IP = '127.0.15.1';

/** A router like the real one: Dovecot's placement over `hosts`, users hashed with %Ln. */
export function placementRouter(hosts: readonly string[]): Router & { backendOf(user: string): string } {
  const table = new HostTable();
  for (const ip of hosts) table.set({ ip });
  const placement = new Placement(table);
  const hasher = new UserHasher('%Ln');
  const backendOf = (user: string): string => {
    const host = placement.lookup(hasher.hash(user), '');
    if (!host) throw new RoutingError('NO_HOSTS', 'no hosts');
    return host.ip.text;
  };
  return {
    refreshIntervalMs: 60_000,
    refresh() {},
    backendOf,
    async route(username: string, tag: string): Promise<Route> {
      return { backend: backendOf(username), userHash: hasher.hash(username), tag };
    },
  };
}

/** One user per host, in host order, among `users` (addresses at demo.test). */
export function usersPerHost(
  router: ReturnType<typeof placementRouter>,
  hosts: readonly string[],
  users: readonly string[],
): string[] {
  return hosts.map((ip) => {
    const user = users.find((u) => router.backendOf(`${u}@demo.test`) === ip);
    if (!user) throw new Error(`no test user lands on ${ip}; start more users`);
    return user;
  });
}

export interface LmtpProxy extends TestListener {
  readonly ctx: ProxyContext;
}

export async function startLmtpProxy(
  port: number,
  router: Router,
  opts: { limits?: Partial<ProxyLimits>; tls?: ProxyContext['tls']; idleTimeoutMs?: number } = {},
): Promise<LmtpProxy> {
  const base = testContext({ router, ...(opts.tls ? { tls: opts.tls } : {}) });
  const ctx: ProxyContext = {
    ...base,
    limits: { ...base.limits, lmtpBackendTimeoutMs: 10_000, maxBadCommands: 5, ...opts.limits },
  };
  const listener = await startTestListener(
    { host: PROXY_IP, port, ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}) },
    (conn) => handleLmtpConnection(conn, ctx),
  );
  return { ...listener, ctx, close: listener.close };
}

export interface SwaksResult {
  readonly exitCode: number;
  readonly out: string;
  /** Server replies to RCPT, in order ("250 2.1.5 OK"). */
  readonly rcptReplies: string[];
  /** Server replies after the body (one per accepted recipient in LMTP). */
  readonly dataReplies: string[];
}

/** Runs swaks against the proxy; never rejects on a failed delivery, only on a broken swaks. */
export function swaks(port: number, args: readonly string[], timeoutMs = 60_000): Promise<SwaksResult> {
  const argv = [
    '--protocol',
    'LMTP',
    '--server',
    `${PROXY_IP}:${port}`,
    '--from',
    'sender@usher.test',
    '--helo',
    'mta.test',
    ...args,
  ];
  return new Promise((resolve, reject) => {
    execFile('swaks', argv, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (exitCode === -1) return reject(new Error(`swaks failed to run: ${err?.message}\n${stderr}`));
      const out = `${stdout}${stderr}`;
      resolve({ exitCode, out, ...parseTranscript(out) });
    });
  });
}

// swaks marks replies "<- ", errors "<** ", and the same under TLS with '~'
const REPLY_LINE = /^<[-~*]{1,3} +(\d{3})([ -]?)(.*)$/;
const COMMAND_LINE = /^ [-~]> (LHLO|EHLO|HELO|STARTTLS|MAIL|RCPT|DATA|RSET|QUIT)\b/i;

/**
 * Pairs commands with replies by position: pipelined or not, the n-th complete reply answers the
 * n-th command (after the greeting). Body lines are not commands, so only commands up to DATA count.
 */
function parseTranscript(out: string): { rcptReplies: string[]; dataReplies: string[] } {
  const commands: string[] = [];
  const finals: string[] = [];
  let sawData = false;
  for (const line of out.split('\n')) {
    const reply = REPLY_LINE.exec(line);
    if (reply) {
      if (reply[2] !== '-') finals.push(`${reply[1]} ${reply[3]}`.trimEnd());
      continue;
    }
    const cmd = COMMAND_LINE.exec(line);
    if (cmd && !sawData) {
      const verb = (cmd[1] as string).toUpperCase();
      commands.push(verb);
      sawData = verb === 'DATA';
    }
  }
  const rcptReplies = commands.flatMap((verb, i) => (verb === 'RCPT' ? [finals[i + 1] ?? '(none)'] : []));
  const data = commands.indexOf('DATA');
  const dataReplies =
    data >= 0 && finals[data + 1]?.startsWith('354')
      ? finals.slice(data + 2).filter((r, i, all) => !(i === all.length - 1 && r.startsWith('221 ')))
      : [];
  return { rcptReplies, dataReplies };
}

/** Every stored copy of a message carrying `marker`, on every backend, for every user. */
export function findDeliveries(
  cluster: DovecotCluster,
  marker: string,
): Array<{ ip: string; user: string; file: string }> {
  const found: Array<{ ip: string; user: string; file: string }> = [];
  for (const backend of cluster.backends) {
    for (const user of cluster.users) {
      for (const sub of ['new', 'cur']) {
        const dir = join(backend.mailRoot, user, 'Maildir', sub);
        let files: string[] = [];
        try {
          files = readdirSync(dir);
        } catch {
          continue;
        }
        for (const f of files) {
          const file = join(dir, f);
          if (readFileSync(file, 'latin1').includes(marker)) found.push({ ip: backend.ip, user, file });
        }
      }
    }
  }
  return found;
}

export function uniqueMarker(label: string): string {
  return `usher-lmtp-${label}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}
