import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DovecotCluster, startDovecotBackends } from '../dovecot-backend.js';
import { PresenceChecker } from './checker.js';
import { type Heal, inject, type World } from './faults.js';
import { ImapLoad } from './imap-load.js';
import { countFetched, Ledger, MESSAGE_ID_DOMAIN, type Violation } from './ledger.js';
import { LinkProxies } from './link-proxy.js';
import { LmtpLoad } from './lmtp-load.js';
import { CampaignNode, NODE_PORTS, nodeConfig } from './nodes.js';
import { type CampaignReport, type InjectedFault, kickLatencyMs, type Timings } from './report.js';
import { Rng } from './rng.js';
import { describeFault, makeSchedule, removedAtEnd, type ScheduledFault } from './schedule.js';

export interface CampaignOptions {
  readonly seed: number;
  /** How long the load runs: warm-up, the fault window, then a quiet settle phase. */
  readonly durationMs: number;
  /** usherd nodes, 3..5 (on 127.0.41.1..N). */
  readonly nodes?: number;
  /** Working directory (logs, configs, mail); a fresh one under the system temp dir by default. */
  readonly root?: string;
  readonly users?: number;
  readonly imapSessions?: number;
  /** Commands per IMAP session before LOGOUT, [min, max]; longer sessions outlive more faults. */
  readonly imapOpsPerSession?: readonly [number, number];
  readonly lmtpWorkers?: number;
  /** Mean gap between faults. */
  readonly meanFaultGapMs?: number;
  /** The first three octets of the node and backend addresses (another block lets two campaigns run at once). */
  readonly nets?: { readonly nodes: string; readonly backends: string };
  /** Replaces the seeded schedule (to replay or craft a scenario); times are from the start of the load. */
  readonly schedule?: readonly ScheduledFault[];
  /** Use the director-admin socket for moves and host changes (default true). */
  readonly admin?: boolean;
  readonly log?: (line: string) => void;
}

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** Where the campaign runs unless told otherwise: nodes on 127.0.41.1-5, backends on 127.0.42.1-3. */
export const DEFAULT_NETS = { nodes: '127.0.41', backends: '127.0.42' } as const;
export const TIMINGS: Timings = { kickDelayMs: 1000, pingTimeoutMs: 3000, pollMs: 1000 };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One campaign: real Dovecot backends, a ring of real usherd processes whose ring links pass through
 * fault proxies, IMAP and LMTP load through random nodes, a seeded fault schedule, the two-backends
 * checker, and at the end the delivery ledger against what the backends hold.
 */
export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const log = o.log ?? (() => {});
  const nodeCount = o.nodes ?? 3;
  if (nodeCount < 3 || nodeCount > 5) throw new Error('--nodes must be 3..5');
  const root = o.root ?? mkdtempSync(join(tmpdir(), 'usher-campaign-'));
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
  const admin = o.admin ?? true;
  const userCount = o.users ?? 40;
  const nets = o.nets ?? DEFAULT_NETS;
  const backends = [1, 2, 3].map((i) => `${nets.backends}.${i}`);
  const nodeIp = (i: number) => `${nets.nodes}.${i + 1}`;
  const warmupMs = Math.min(5000, o.durationMs / 10);
  const settleMs = Math.min(10_000, o.durationMs / 6);
  const schedule =
    o.schedule ??
    makeSchedule({
      seed: o.seed,
      warmupMs,
      faultWindowMs: o.durationMs - warmupMs - settleMs,
      nodes: nodeCount,
      backends: backends.length,
      // moves go to users that hold IMAP sessions, so every move has sessions to kick
      users: imapUserCount(userCount),
      meanGapMs: o.meanFaultGapMs ?? 5000,
      admin,
    });
  const startedAt = Date.now();
  const violations: Violation[] = [];
  const timing = { setupMs: 0, loadMs: 0, drainMs: 0, verifyMs: 0 };
  log(`campaign seed=${o.seed} nodes=${nodeCount} load=${Math.round(o.durationMs / 1000)} s root=${root}`);
  log(admin ? 'admin faults: on (director-admin socket)' : 'admin faults: off (usherd has no director-admin socket)');

  let cluster: DovecotCluster | undefined;
  let links: LinkProxies | undefined;
  const nodes: CampaignNode[] = [];
  const killAll = () => {
    for (const n of nodes) n.child?.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    const ringCerts = join(root, 'ring-certs');
    const ips = Array.from({ length: nodeCount }, (_, i) => nodeIp(i));
    execFileSync('bash', [join(REPO, 'deploy/certs/make-ring-certs.sh'), ringCerts, ...ips], { stdio: 'ignore' });
    cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: backends, users: userCount });
    const members = ips.map((ip) => `${ip}:9090`);
    links = await LinkProxies.start(members);
    mkdirSync(join(root, 'nodes'), { recursive: true });
    const adminSockets = admin ? ips.map((_, i) => join(root, `n${i + 1}-admin.sock`)) : undefined;
    for (const [i, ip] of ips.entries()) {
      nodes.push(
        new CampaignNode({
          ip,
          name: `n${i + 1}`,
          root: join(root, 'nodes'),
          proxyUrl: links.proxyUrl(members[i] as string),
          config: nodeConfig({
            ip,
            members,
            backends: backends,
            ringCerts,
            kickDelay: `${TIMINGS.kickDelayMs / 1000} secs`,
            pingTimeout: `${TIMINGS.pingTimeoutMs / 1000} secs`,
            ...(adminSockets ? { adminSocket: adminSockets[i] } : {}),
          }),
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));
    timing.setupMs = Date.now() - startedAt;

    const loadStart = Date.now();
    const ledger = new Ledger();
    const checker = new PresenceChecker({
      cluster,
      backends: backends,
      pollMs: TIMINGS.pollMs,
      kickLatencyMs: kickLatencyMs(TIMINGS),
      startedAt: loadStart,
    });
    const world: World = {
      nodes,
      links,
      cluster,
      backends: backends,
      users: cluster.users,
      adminSockets,
      checker,
      violations,
      startedAt: loadStart,
      log,
    };
    // clients only know the node addresses, as behind a DNS round robin: some are down at times
    const entry = () => ips;
    const imapUsers = cluster.users.slice(0, imapUserCount(userCount));
    const imap = new ImapLoad({
      seed: o.seed,
      nodes: entry,
      port: NODE_PORTS.imap,
      users: imapUsers,
      password: cluster.password,
      sessions: o.imapSessions ?? 16,
      ...(o.imapOpsPerSession ? { opsPerSession: o.imapOpsPerSession } : {}),
      rng: Rng.derive(o.seed, 'imap'),
      ledger,
    });
    const lmtp = new LmtpLoad({
      seed: o.seed,
      nodes: entry,
      port: NODE_PORTS.lmtp,
      users: cluster.users,
      workers: o.lmtpWorkers ?? 2,
      rng: Rng.derive(o.seed, 'lmtp'),
      ledger,
    });
    checker.start();
    imap.start();
    lmtp.start();
    const rss = new Map<string, number>();
    const sampler = setInterval(() => {
      for (const n of nodes) rss.set(n.name, Math.max(rss.get(n.name) ?? 0, n.rssBytes() ?? 0));
    }, 1000);

    const injected: InjectedFault[] = [];
    const names = {
      node: (i: number) => (nodes[i] as CampaignNode).name,
      backend: (i: number) => backends[i] as string,
      user: (i: number) => cluster?.users[i] as string,
    };
    const tasks = schedule.map(async (s) => {
      await sleep(Math.max(0, loadStart + s.atMs - Date.now()));
      const what = describeFault(s.fault, names);
      const at = Date.now() - loadStart;
      log(`  t=${fmtS(at)} ${what}${s.durationMs ? ` for ${fmtS(s.durationMs)}` : ''}`);
      injected.push({ atMs: at, durationMs: s.durationMs, description: what });
      let heal: Heal | undefined;
      try {
        heal = await inject(world, s.fault);
      } catch (e) {
        log(`    ${what} failed: ${(e as Error).message}`);
      }
      if (!heal) return;
      await sleep(Math.max(0, loadStart + s.atMs + s.durationMs - Date.now()));
      await heal();
      log(`  t=${fmtS(Date.now() - loadStart)} healed ${what}`);
    });
    await sleep(Math.max(0, loadStart + o.durationMs - Date.now()));
    await Promise.all(tasks);
    timing.loadMs = Date.now() - loadStart;

    const drainStart = Date.now();
    log('stopping the load; retrying what LMTP has left...');
    await Promise.all([imap.stop(), lmtp.drain(15_000)]);
    await checker.stop();
    // every client logged out: a session still on a backend now was left behind by a node
    const leaked = await waitForNoSessions(cluster, backends, 10_000);
    for (const l of leaked)
      violations.push({ kind: 'leaked-session', atMs: Date.now() - loadStart, detail: `${l} after all clients left` });
    clearInterval(sampler);
    timing.drainMs = Date.now() - drainStart;

    const verifyStart = Date.now();
    for (const b of removedAtEnd(schedule)) log(`note: ${backends[b]} is still removed from the ring; its mail counts`);
    const copies = new Map<string, number>();
    const ours = (id: string) => id.startsWith(`<c${o.seed}-`) && id.endsWith(`@${MESSAGE_ID_DOMAIN}>`);
    for (const ip of backends) {
      const out = await cluster.doveadm(ip, ['-f', 'tab', 'fetch', '-A', 'hdr.message-id', 'mailbox', 'INBOX']);
      countFetched(out, ours, copies);
    }
    const verdict = ledger.verify(copies, Date.now() - loadStart);
    violations.push(...checker.violations, ...verdict.violations, ...nodeViolations(nodes, loadStart));
    timing.verifyMs = Date.now() - verifyStart;

    return {
      seed: o.seed,
      nodes: nodeCount,
      root,
      admin,
      timings: TIMINGS,
      phases: timing,
      injected: injected.sort((a, b) => a.atMs - b.atMs),
      imap: imap.stats,
      lmtp: lmtp.stats,
      lmtpPending: lmtp.pending,
      ledger: verdict.summary,
      checker: checker.stats,
      links: links.stats,
      nodeStats: nodes.map((n) => ({ name: n.name, starts: n.starts, maxRssBytes: rss.get(n.name) ?? 0 })),
      violations,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
    process.off('exit', killAll);
    await links?.close();
    await cluster?.stop();
  }
}

/** Polls until no backend reports a session; returns what is left ("user on ip (proto)"). */
async function waitForNoSessions(cluster: DovecotCluster, backends: readonly string[], timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left: string[] = [];
    for (const ip of backends) {
      if (!cluster.isRunning(ip)) continue;
      for (const w of await cluster.who(ip).catch(() => [])) left.push(`${w.user} on ${ip} (${w.proto})`);
    }
    if (left.length === 0 || Date.now() > until) return left;
    await sleep(500);
  }
}

/** Crashes, and errors nobody caught, from the nodes' own logs. */
function nodeViolations(nodes: readonly CampaignNode[], startedAt: number): Violation[] {
  const out: Violation[] = [];
  for (const n of nodes) {
    for (const c of n.crashes)
      out.push({
        kind: 'node-crashed',
        atMs: c.at - startedAt,
        detail: `${n.name} exited by itself (code ${c.code}, signal ${c.signal})\n${n.logTail()}`,
      });
    let text = '';
    try {
      text = readFileSync(n.logPath, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (/unhandled rejection|uncaught exception/i.test(line))
        out.push({ kind: 'unhandled-error', atMs: 0, detail: `${n.name}: ${line.slice(0, 300)}` });
    }
  }
  return out;
}

/** The first half of the users hold IMAP sessions; all of them receive mail. */
function imapUserCount(users: number): number {
  return Math.max(4, Math.floor(users / 2));
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
