import type { HealthHost, HealthReport, HostHealthSink } from '@usher/core';
import { decide, type NodeView, type ReceivedReport, reachable, type Tally, tally } from './agreement.js';
import { type HysteresisState, INITIAL, step, type Verdict } from './hysteresis.js';
import type { Prober } from './probe/backend-prober.js';

/** Time, injected: wall clock in usherd, virtual time in the ring simulation tests. */
export interface HealthClock {
  now(): number;
  /** Returns a function that cancels the timer. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export interface HealthLog {
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export interface HealthMonitorOptions {
  readonly sink: HostHealthSink;
  readonly prober: Prober;
  readonly clock: HealthClock;
  /** health_check_interval: a round of probes starts this often. */
  readonly intervalMs: number;
  /** health_check_timeout: the longest a round can take (the prober enforces it). */
  readonly timeoutMs: number;
  readonly failCount: number;
  readonly okCount: number;
  /** health_move_users_after: move the users of a backend health marked down this long ago (0 = never). */
  readonly moveUsersAfterMs?: number;
  readonly log?: HealthLog;
}

/** What this node knows about one backend, for status output and tests. */
export interface BackendHealth {
  readonly ip: string;
  /** This node's own verdict (after hysteresis) and its last probe's failure. */
  readonly verdict: Verdict;
  readonly detail: string;
  readonly tally: Tally;
}

const silent: HealthLog = { info() {}, warn() {}, error() {} };

/**
 * One node's health checks: probe every backend each interval, turn results into a verdict per
 * backend (hysteresis), tell the other nodes, and apply what the reachable majority agrees on when
 * it is this node's turn (see agreement.ts). Probing goes on for every backend, down ones included,
 * so a recovered backend is noticed and an operator's HOST-UP finds a fresh verdict.
 */
export class HealthMonitor {
  private readonly o: HealthMonitorOptions;
  private readonly log: HealthLog;
  private readonly states = new Map<string, HysteresisState>();
  private readonly details = new Map<string, string>();
  private readonly reports = new Map<string, ReceivedReport>();
  /** Host changes this node asked for and the ring has not confirmed yet. */
  private readonly applying = new Set<string>();
  /** Per backend: the down episode (lastUpdownChange) whose users were moved, or when to try again. */
  private readonly moves = new Map<string, { episode: number; done: boolean; retryAt: number }>();
  private readonly seen = new Map<string, string>();
  /** When this node first saw each backend down (lastUpdownChange has only whole seconds). */
  private readonly downSeenAt = new Map<string, number>();
  private readonly validMs: number;
  private startedAt = 0;
  private running = false;
  private roundTimer: (() => void) | undefined;
  private evaluateTimer: (() => void) | undefined;

  constructor(opts: HealthMonitorOptions) {
    this.o = opts;
    this.log = opts.log ?? silent;
    // a report is re-sent each round, and a round lasts at most interval + timeout: two may be missed
    this.validMs = 2 * (opts.intervalMs + opts.timeoutMs);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.o.clock.now();
    this.o.sink.onReport((r) => this.received(r));
    this.noteHosts(this.o.sink.hosts());
    this.roundTimer = this.o.clock.setTimeout(() => void this.round(), 0);
  }

  stop(): void {
    this.running = false;
    this.roundTimer?.();
    this.evaluateTimer?.();
  }

  status(): BackendHealth[] {
    const views = this.views();
    return this.o.sink.hosts().map((h) => ({
      ip: h.ip,
      verdict: this.states.get(h.ip)?.verdict ?? 'unknown',
      detail: this.details.get(h.ip) ?? '',
      tally: tally(h.ip, views),
    }));
  }

  private async round(): Promise<void> {
    if (!this.running) return;
    const started = this.o.clock.now();
    const hosts = this.o.sink.hosts();
    const ips = new Set(hosts.map((h) => h.ip));
    for (const ip of [...this.states.keys()]) if (!ips.has(ip)) this.forget(ip);
    const results = await Promise.all(
      hosts.map((h) =>
        this.o.prober.probe(h.ip).catch((e: unknown) => ({ ok: false, detail: `probe error: ${String(e)}` })),
      ),
    );
    if (!this.running) return;
    const now = this.o.clock.now();
    hosts.forEach((h, i) => {
      const r = results[i] ?? { ok: false, detail: 'no result' };
      this.record(h.ip, r.ok, r.detail, now);
    });
    this.publish();
    this.evaluate();
    const wait = Math.max(0, this.o.intervalMs - (this.o.clock.now() - started));
    this.roundTimer = this.o.clock.setTimeout(() => void this.round(), wait);
  }

  private record(ip: string, ok: boolean, detail: string, now: number): void {
    const before = this.states.get(ip) ?? INITIAL;
    const after = step(before, ok, now, { failCount: this.o.failCount, okCount: this.o.okCount });
    this.states.set(ip, after);
    if (!ok) this.details.set(ip, detail);
    else this.details.delete(ip);
    if (after.verdict === before.verdict) return;
    if (after.verdict === 'failing') {
      this.log.warn(`health: backend ${ip} fails its checks here`, { ip, failures: after.failures, detail });
    } else if (before.verdict === 'failing') {
      this.log.info(`health: backend ${ip} passes its checks here again`, { ip });
    }
  }

  private forget(ip: string): void {
    this.states.delete(ip);
    this.details.delete(ip);
    this.moves.delete(ip);
  }

  private publish(): void {
    const verdicts = [];
    for (const [ip, s] of this.states) {
      if (s.verdict !== 'unknown') verdicts.push({ ip, failing: s.verdict === 'failing', sinceMs: s.sinceMs });
    }
    this.o.sink.publish({ node: this.o.sink.self, verdicts, validMs: this.validMs });
  }

  private received(r: HealthReport): void {
    if (!this.running || r.node === this.o.sink.self) return;
    const verdicts = new Map(r.verdicts.map((v) => [v.ip, v.failing] as const));
    this.reports.set(r.node, { view: { node: r.node, verdicts }, receivedAt: this.o.clock.now(), validMs: r.validMs });
    // coalesce a burst of reports into one evaluation
    if (this.evaluateTimer) return;
    this.evaluateTimer = this.o.clock.setTimeout(() => {
      this.evaluateTimer = undefined;
      this.evaluate();
    }, 0);
  }

  /** Our own view plus every peer's still-valid report. */
  private views(): NodeView[] {
    const now = this.o.clock.now();
    for (const [node, r] of this.reports) if (now - r.receivedAt > r.validMs) this.reports.delete(node);
    const own = new Map<string, boolean>();
    for (const [ip, s] of this.states) if (s.verdict !== 'unknown') own.set(ip, s.verdict === 'failing');
    return [{ node: this.o.sink.self, verdicts: own }, ...reachable(this.reports.values(), now)];
  }

  private evaluate(): void {
    if (!this.running) return;
    const hosts = this.o.sink.hosts();
    this.noteHosts(hosts);
    const now = this.o.clock.now();
    // until every reachable node had time to report once, a lone verdict of ours is no majority
    if (now - this.startedAt < this.o.intervalMs + this.o.timeoutMs) return;
    const views = this.views();
    for (const h of hosts) {
      const t = tally(h.ip, views);
      const action = decide(h, t, this.o.sink.self);
      if (action) this.apply(h.ip, action === 'down', t);
      else this.maybeMoveUsers(h, t, now);
    }
  }

  private apply(ip: string, down: boolean, t: Tally): void {
    if (this.applying.has(ip)) return;
    this.applying.add(ip);
    const votes = `${down ? t.failing : t.ok} of ${t.voters} nodes`;
    this.log.warn(`health: marking backend ${ip} ${down ? 'down' : 'up'} (${votes} agree)`, {
      ip,
      failing: t.failing,
      ok: t.ok,
      voters: t.voters,
    });
    this.o.sink.setHealthDown(ip, down).then(
      () => this.settled(ip),
      (e: unknown) => {
        this.log.error(`health: could not mark backend ${ip} ${down ? 'down' : 'up'}`, { ip, error: String(e) });
        this.settled(ip);
      },
    );
  }

  /**
   * The next evaluation comes with the next round or report, not now: a change the cluster turned
   * out not to need (the host changed meanwhile) must not be retried in a tight loop.
   */
  private settled(ip: string): void {
    this.applying.delete(ip);
    if (this.running) this.noteHosts(this.o.sink.hosts());
  }

  /** health_move_users_after: the node that applies "failing" also empties a backend down for long. */
  private maybeMoveUsers(h: HealthHost, t: Tally, now: number): void {
    const after = this.o.moveUsersAfterMs ?? 0;
    if (after <= 0 || !h.down || h.manualDown || t.agreed !== 'failing' || t.applier !== this.o.sink.self) return;
    // the later of the two, so a backend is never emptied early, whatever the rounding
    const since = Math.max(h.lastUpdownChange * 1000, this.downSeenAt.get(h.ip) ?? now);
    if (now - since < after || this.applying.has(h.ip)) return;
    const m = this.moves.get(h.ip);
    if (m && m.episode === h.lastUpdownChange && (m.done || now < m.retryAt)) return;
    this.moves.set(h.ip, { episode: h.lastUpdownChange, done: false, retryAt: Number.POSITIVE_INFINITY });
    this.applying.add(h.ip);
    this.log.warn(`health: backend ${h.ip} is down for long: moving its users`, { ip: h.ip });
    this.o.sink.moveUsersOff(h.ip).then(
      (r) => {
        this.log.info(`health: moved ${r.moved} users off backend ${h.ip}`, { ip: h.ip, ...r });
        this.moves.set(h.ip, {
          episode: h.lastUpdownChange,
          done: r.failed === 0,
          retryAt: this.o.clock.now() + after,
        });
        this.settled(h.ip);
      },
      (e: unknown) => {
        this.log.error(`health: moving users off backend ${h.ip} failed`, { ip: h.ip, error: String(e) });
        this.moves.set(h.ip, { episode: h.lastUpdownChange, done: false, retryAt: this.o.clock.now() + after });
        this.settled(h.ip);
      },
    );
  }

  /** Log every up/down change of a backend as this node sees it, whoever made it. */
  private noteHosts(hosts: readonly HealthHost[]): void {
    const ips = new Set<string>();
    const now = this.o.clock.now();
    for (const h of hosts) {
      ips.add(h.ip);
      if (!h.down) this.downSeenAt.delete(h.ip);
      else if (!this.downSeenAt.has(h.ip)) this.downSeenAt.set(h.ip, now);
      const state = h.down ? (h.manualDown ? 'down (operator)' : 'down (health checks)') : 'up';
      const before = this.seen.get(h.ip);
      this.seen.set(h.ip, state);
      if (before === undefined || before === state) continue;
      const line = `health: backend ${h.ip} is ${state}`;
      if (h.down) this.log.warn(line, { ip: h.ip, was: before });
      else this.log.info(line, { ip: h.ip, was: before });
    }
    for (const ip of [...this.seen.keys()]) {
      if (ips.has(ip)) continue;
      this.seen.delete(ip);
      this.downSeenAt.delete(ip);
    }
  }
}
