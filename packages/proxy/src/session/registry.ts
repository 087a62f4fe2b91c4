import type { Router } from '@usher/core';

export type ProxyProtocol = 'imap' | 'pop3' | 'lmtp' | 'managesieve';

/** A proxied (logged-in) session as the registry sees it. */
export interface RegisteredSession {
  readonly id: string;
  readonly protocol: ProxyProtocol;
  /** The login name as given (for USER-KICK, which matches the login username). */
  readonly username: string;
  readonly userHash: number;
  readonly tag: string;
  readonly backend: string;
  readonly clientIp: string;
  /** Close the session with the protocol's goodbye. */
  kick(reason: string): void;
}

/**
 * Every logged-in session of this node, indexed for kicks by user, user hash and backend
 * (admin commands and the ring use these), and refreshed so the assignment of a user with an
 * open session never expires: one timer for all sessions, one refresh per distinct user.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, RegisteredSession>();
  private timer: NodeJS.Timeout | undefined;

  get size(): number {
    return this.sessions.size;
  }

  add(session: RegisteredSession): () => void {
    this.sessions.set(session.id, session);
    return () => {
      this.sessions.delete(session.id);
    };
  }

  list(): RegisteredSession[] {
    return [...this.sessions.values()];
  }

  countByBackend(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.sessions.values()) out.set(s.backend, (out.get(s.backend) ?? 0) + 1);
    return out;
  }

  kickUser(username: string, reason = 'Kicked by admin'): number {
    return this.kickWhere((s) => s.username === username, reason);
  }

  /** Sessions of this user hash, except those on `exceptBackend` (the winner of a conflict). */
  kickHash(userHash: number, exceptBackend?: string, reason = 'Kicked via director'): number {
    return this.kickWhere((s) => s.userHash === userHash && s.backend !== exceptBackend, reason);
  }

  kickBackend(backend: string, reason = 'Kicked: backend removed'): number {
    return this.kickWhere((s) => s.backend === backend, reason);
  }

  kickAll(reason: string): number {
    return this.kickWhere(() => true, reason);
  }

  /** Refresh every open session's user at `intervalMs` (user_expire / 2). */
  startRefresh(router: Router, intervalMs = router.refreshIntervalMs): void {
    this.stopRefresh();
    this.timer = setInterval(() => {
      const seen = new Set<string>();
      for (const s of this.sessions.values()) {
        const key = `${s.tag}\0${s.userHash}`;
        if (seen.has(key)) continue;
        seen.add(key);
        router.refresh(s.userHash, s.tag);
      }
    }, intervalMs);
    this.timer.unref();
  }

  stopRefresh(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private kickWhere(pred: (s: RegisteredSession) => boolean, reason: string): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (!pred(s)) continue;
      this.sessions.delete(s.id);
      s.kick(reason);
      n++;
    }
    return n;
  }
}
