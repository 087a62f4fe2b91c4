import type { DovecotCluster } from '../dovecot-backend.js';
import type { Violation } from './ledger.js';

export interface CheckerStats {
  polls: number;
  /** Polls where some backend could not be asked (it is stopped, or doveadm failed). */
  partialPolls: number;
  /** Most sessions seen in one poll, over all backends. */
  maxSessions: number;
  /** Users seen on two backends in one poll, counted once per episode (most are a move in flight). */
  overlaps: number;
  /** Longest episode of one user on two backends, in ms (from its first poll to its last). */
  longestOverlapMs: number;
}

interface Episode {
  readonly firstSeen: number;
  lastSeen: number;
  backends: string;
  reported: boolean;
}

/**
 * The invariant of DESIGN §1, observed from outside: every `pollMs` it asks every backend who is
 * logged in (`doveadm who`), and reports a user present on two backends for longer than
 * `kickLatencyMs`. The clock of an episode restarts at every heal (a node thawed, restarted or
 * reconnected): a node cut off from the ring cannot hear a kick, and Dovecot's director makes the
 * same promise only for nodes that can.
 */
export class PresenceChecker {
  readonly stats: CheckerStats = { polls: 0, partialPolls: 0, maxSessions: 0, overlaps: 0, longestOverlapMs: 0 };
  readonly violations: Violation[] = [];
  private readonly episodes = new Map<string, Episode>();
  private lastHeal = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly o: {
      readonly cluster: DovecotCluster;
      readonly backends: readonly string[];
      readonly pollMs: number;
      readonly kickLatencyMs: number;
      readonly startedAt: number;
    },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Something that cut a node off from the ring was just undone. */
  healed(at = Date.now()): void {
    this.lastHeal = at;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One poll now (also used for the final look after the load stopped). */
  async poll(): Promise<void> {
    const now = Date.now();
    const { cluster } = this.o;
    const seen = new Map<string, Set<string>>();
    let partial = false;
    let sessions = 0;
    await Promise.all(
      this.o.backends.map(async (ip) => {
        if (!cluster.isRunning(ip)) {
          partial = true;
          return;
        }
        try {
          for (const w of await cluster.who(ip)) {
            sessions++;
            const set = seen.get(w.user) ?? new Set<string>();
            seen.set(w.user, set);
            set.add(ip);
          }
        } catch {
          partial = true;
        }
      }),
    );
    this.stats.polls++;
    if (partial) this.stats.partialPolls++;
    this.stats.maxSessions = Math.max(this.stats.maxSessions, sessions);
    for (const [user, backends] of seen) {
      if (backends.size < 2) continue;
      const list = [...backends].sort().join(' + ');
      let ep = this.episodes.get(user);
      if (!ep) {
        ep = { firstSeen: now, lastSeen: now, backends: list, reported: false };
        this.episodes.set(user, ep);
        this.stats.overlaps++;
      }
      ep.lastSeen = now;
      ep.backends = list;
      this.stats.longestOverlapMs = Math.max(this.stats.longestOverlapMs, now - ep.firstSeen);
      const since = Math.max(ep.firstSeen, this.lastHeal);
      if (!ep.reported && now - since > this.o.kickLatencyMs) {
        ep.reported = true;
        this.violations.push({
          kind: 'two-backends',
          atMs: now - this.o.startedAt,
          detail: `${user} on ${list} for ${Math.round((now - ep.firstSeen) / 100) / 10} s (limit ${this.o.kickLatencyMs / 1000} s after the last heal)`,
        });
      }
    }
    // an episode ends at the first poll that sees the user on one backend (or none)
    for (const user of [...this.episodes.keys()]) {
      if ((seen.get(user)?.size ?? 0) < 2) this.episodes.delete(user);
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      await this.poll();
      const wait = this.o.pollMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}
