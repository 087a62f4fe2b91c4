import type { CheckerStats } from './checker.js';
import type { ImapStats } from './imap-load.js';
import type { LedgerSummary, Violation } from './ledger.js';
import type { LinkStats } from './link-proxy.js';
import type { LmtpStats } from './lmtp-load.js';

export interface Timings {
  /** director_user_kick_delay of the nodes. */
  readonly kickDelayMs: number;
  /** director_ring_ping_timeout: how long a silent neighbour takes to be routed around. */
  readonly pingTimeoutMs: number;
  /** How often the checker asks every backend `doveadm who`. */
  readonly pollMs: number;
}

/**
 * The documented kick latency: how long a user may be seen on two backends before it is a violation.
 * A move kicks everywhere and lets the user log in again only after a sync round plus
 * user_kick_delay; a round that meets a dead or silent neighbour needs up to ping_timeout to go around
 * it; the checker sees a session up to one poll late at each end; and a kicked Dovecot process takes
 * a moment to leave `doveadm who`. Measured from the later of the first sighting and the last heal.
 */
export function kickLatencyMs(t: Timings): number {
  return t.kickDelayMs + t.pingTimeoutMs + 2 * t.pollMs + 1000;
}

export interface InjectedFault {
  readonly atMs: number;
  readonly durationMs: number;
  readonly description: string;
}

export interface CampaignReport {
  readonly seed: number;
  readonly nodes: number;
  readonly root: string;
  readonly admin: boolean;
  readonly timings: Timings;
  readonly phases: { setupMs: number; loadMs: number; drainMs: number; verifyMs: number };
  readonly injected: readonly InjectedFault[];
  readonly imap: ImapStats;
  readonly lmtp: LmtpStats;
  /** LMTP recipients still not accepted when the drain gave up. */
  readonly lmtpPending: number;
  readonly ledger: LedgerSummary;
  readonly checker: CheckerStats;
  readonly links: LinkStats;
  readonly nodeStats: ReadonlyArray<{ name: string; starts: number; maxRssBytes: number }>;
  readonly violations: readonly Violation[];
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

export function formatReport(r: CampaignReport): string {
  const lines: string[] = [];
  lines.push(`campaign seed ${r.seed}: ${r.nodes} nodes, logs in ${r.root}`);
  lines.push(
    `phases: setup ${s(r.phases.setupMs)}, load ${s(r.phases.loadMs)}, drain ${s(r.phases.drainMs)}, verify ${s(r.phases.verifyMs)}`,
  );
  lines.push(
    `kick latency limit ${s(kickLatencyMs(r.timings))} (user_kick_delay ${s(r.timings.kickDelayMs)} + ping_timeout ${s(r.timings.pingTimeoutMs)} + 2 polls of ${s(r.timings.pollMs)} + 1 s)`,
  );
  lines.push(
    `injected ${r.injected.length} faults${r.admin ? '' : ' (admin faults off: usherd has no director-admin socket)'}:`,
  );
  for (const f of r.injected)
    lines.push(`  t=${s(f.atMs)} ${f.description}${f.durationMs ? ` for ${s(f.durationMs)}` : ''}`);
  const i = r.imap;
  lines.push(
    `imap: ${i.sessions} sessions, ${i.logins} logins (${i.loginFailures} refused, ${i.connectFailures} connects failed), ${i.commands} commands, ${i.idles} IDLEs, ${i.appends} APPENDs, ${i.byes} ended by BYE, ${i.dropped} dropped`,
  );
  const l = r.lmtp;
  lines.push(
    `lmtp: ${l.messages} messages, ${l.transactions} transactions, ${l.delivered} recipient deliveries, ${l.tempFailures} temporary failures retried (${l.connectFailures} connects failed), ${r.lmtpPending} never accepted`,
  );
  const g = r.ledger;
  lines.push(
    `ledger: ${g.entries} entries, ${g.accepted} acknowledged, ${g.copiesFound} copies found, ${g.retried} retried, ${g.ambiguousAttempts} ambiguous attempts, ${g.ambiguousDuplicates} allowed duplicates`,
  );
  for (const ex of g.ambiguousExamples) lines.push(`  allowed duplicate: ${ex}`);
  const c = r.checker;
  lines.push(
    `checker: ${c.polls} polls (${c.partialPolls} with a backend down), up to ${c.maxSessions} sessions, ${c.overlaps} brief overlaps, longest ${s(c.longestOverlapMs)}`,
  );
  lines.push(
    `ring links: ${r.links.tunnels} connections, ${r.links.refused} refused and ${r.links.torn} torn by faults`,
  );
  lines.push(
    `nodes: ${r.nodeStats.map((n) => `${n.name} started ${n.starts}x, max RSS ${mb(n.maxRssBytes)}`).join('; ')}`,
  );
  if (r.violations.length === 0) lines.push('violations: none');
  else {
    lines.push(`violations: ${r.violations.length}`);
    for (const v of r.violations.slice(0, 50)) lines.push(`  [${v.kind}] t=${s(v.atMs)} ${v.detail}`);
    if (r.violations.length > 50) lines.push(`  ... and ${r.violations.length - 50} more`);
  }
  return lines.join('\n');
}
