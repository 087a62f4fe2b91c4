/**
 * The one invariant, checked on simulated sessions: a user is never served by two backends at the
 * same time. Every successful route opens a session on that node, valid for user_expire unless a
 * kick closes it; a crash closes the node's sessions. Opening a session while another node holds a
 * live one of the same user on another backend is a violation, unless the two nodes were cut
 * apart at some point since the older session opened: by a network partition, or by having no path
 * of ring links between them (a node isolated until it re-links serves on its own, as Dovecot's
 * lone director does). That is the documented exception; after a heal the split must drain.
 */
export interface Session {
  readonly node: string;
  readonly username: string;
  readonly userHash: number;
  readonly tag: string;
  readonly backend: string;
  readonly since: number;
  readonly until: number;
}

export interface Violation {
  readonly atMs: number;
  readonly userHash: number;
  readonly tag: string;
  readonly a: Session;
  readonly b: Session;
}

interface Cut {
  readonly from: number;
  to: number;
  readonly groups: readonly (readonly string[])[];
}

export class SessionChecker {
  readonly violations: Violation[] = [];
  readonly exempted: Violation[] = [];
  private readonly byUser = new Map<string, Session[]>();
  private readonly cuts: Cut[] = [];
  /** Samples of which link-connected component each node was in. */
  private readonly components: { atMs: number; of: Map<string, number> }[] = [];
  private readonly validMs: number;

  constructor(userExpireSecs: number) {
    this.validMs = userExpireSecs * 1000;
  }

  /** A partition starts now (groups as given to the network). */
  partition(nowMs: number, groups: readonly (readonly string[])[]): void {
    this.heal(nowMs);
    this.cuts.push({ from: nowMs, to: Number.POSITIVE_INFINITY, groups });
  }

  /** Record which nodes can reach each other over ring links now (component number per node). */
  linked(nowMs: number, componentOf: Map<string, number>): void {
    this.components.push({ atMs: nowMs, of: componentOf });
  }

  heal(nowMs: number): void {
    for (const c of this.cuts) if (c.to === Number.POSITIVE_INFINITY) c.to = nowMs;
  }

  opened(nowMs: number, s: Omit<Session, 'since' | 'until'>): void {
    // assignments carry whole seconds: one made at 7.9 s expires at 7 s + user_expire
    const session: Session = { ...s, since: nowMs, until: Math.floor(nowMs / 1000) * 1000 + this.validMs };
    const key = `${s.tag}\0${s.userHash}`;
    const live = (this.byUser.get(key) ?? []).filter((o) => o.until > nowMs);
    for (const other of live) {
      if (other.backend === s.backend) continue;
      const v = { atMs: nowMs, userHash: s.userHash, tag: s.tag, a: other, b: session };
      if (other.node !== s.node && this.separated(other.node, s.node, other.since, nowMs)) this.exempted.push(v);
      else this.violations.push(v);
    }
    live.push(session);
    this.byUser.set(key, live);
  }

  kickedHash(nowMs: number, node: string, userHash: number, exceptBackend: string | undefined): void {
    for (const [key, list] of this.byUser) {
      const kept = list.filter(
        (s) => !(s.node === node && s.userHash === userHash && s.backend !== exceptBackend && s.until > nowMs),
      );
      if (kept.length !== list.length) this.byUser.set(key, kept);
    }
  }

  kickedUser(node: string, username: string): void {
    for (const [key, list] of this.byUser)
      this.byUser.set(
        key,
        list.filter((s) => !(s.node === node && s.username === username)),
      );
  }

  crashed(node: string): void {
    for (const [key, list] of this.byUser)
      this.byUser.set(
        key,
        list.filter((s) => s.node !== node),
      );
  }

  /** Users with live sessions on more than one backend now (after a heal this must drain to none). */
  split(nowMs: number): { userHash: number; tag: string; backends: string[] }[] {
    const out: { userHash: number; tag: string; backends: string[] }[] = [];
    for (const list of this.byUser.values()) {
      const live = list.filter((s) => s.until > nowMs);
      const backends = [...new Set(live.map((s) => s.backend))];
      const first = live[0];
      if (backends.length > 1 && first) out.push({ userHash: first.userHash, tag: first.tag, backends });
    }
    return out;
  }

  private separated(a: string, b: string, from: number, to: number): boolean {
    const unlinked = this.components.some(
      (c) => c.atMs >= from - 100 && c.atMs <= to && c.of.get(a) !== undefined && c.of.get(a) !== c.of.get(b),
    );
    if (unlinked) return true;
    return this.cuts.some((c) => {
      if (c.to < from || c.from > to) return false;
      const ga = c.groups.findIndex((g) => g.includes(a));
      const gb = c.groups.findIndex((g) => g.includes(b));
      return ga >= 0 && gb >= 0 && ga !== gb;
    });
  }
}
