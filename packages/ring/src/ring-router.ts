import { HashFormatError, type Route, type Router, RoutingError, type UserHasher, userKey } from '@usher/core';
import type { RingCore } from './ring-core.js';
import type { Cancel } from './scheduler.js';

interface Waiter {
  readonly hash: number;
  readonly tag: string;
  readonly since: number;
  reason: string;
  readonly resolve: (r: Route) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Cancel;
}

/**
 * Routing on a ring node (Dovecot's request flow, §4.3, with our narrower waits): an unexpired
 * assignment is used and refreshed; a new user is placed at once unless the host table is in flux
 * in a way that changes its backend. Logins wait while this node has not received the ring state,
 * while the user is being moved, or while its placement depends on an unconfirmed host change;
 * every state change re-evaluates them, and they fail temporarily after the request timeout.
 */
export class RingRouter implements Router {
  readonly refreshIntervalMs: number;
  private readonly core: RingCore;
  private readonly hasher: UserHasher;
  private readonly waiters = new Set<Waiter>();
  /** Dovecot's user_near_expiring_secs: 10% of user_expire, within [3, 30]. */
  private readonly nearExpirySecs: number;

  constructor(core: RingCore, hasher: UserHasher) {
    this.core = core;
    this.hasher = hasher;
    const expire = core.state.users.expireSecs;
    this.refreshIntervalMs = (expire * 1000) / 2;
    this.nearExpirySecs = Math.min(30, Math.max(3, Math.floor(expire / 10)));
    core.onWake(() => this.retry());
  }

  get waiting(): number {
    return this.waiters.size;
  }

  route(username: string, tag: string): Promise<Route> {
    let hash: number;
    try {
      hash = this.hasher.hash(username);
    } catch (e) {
      if (e instanceof HashFormatError) {
        return Promise.reject(new RoutingError('HASH_FAILED', e.message, { ...e.context }));
      }
      return Promise.reject(e);
    }
    return this.routeHash(hash, tag);
  }

  routeHash(hash: number, tag: string): Promise<Route> {
    try {
      const decided = this.decide(hash, tag);
      if (typeof decided !== 'string') return Promise.resolve(decided);
      return this.wait(hash, tag, decided);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  refresh(userHash: number, tag: string): void {
    const users = this.core.state.users;
    const tagId = users.tags.find(tag);
    if (tagId === undefined) return;
    const now = this.core.nowSecs();
    const slot = users.liveSlot(tagId, userHash, now);
    if (slot < 0 || users.directory.timestampOf(slot) >= now) return;
    users.directory.refreshSlot(slot, now);
    this.core.batcher.add(userKey(tagId, userHash));
  }

  /** Fail every waiting login (the node stops). */
  rejectAll(error: Error): void {
    for (const w of [...this.waiters]) this.settle(w, () => w.reject(error));
  }

  /** A route, or why the login has to wait. */
  private decide(hash: number, tag: string): Route | string {
    const core = this.core;
    if (!core.running) throw new RoutingError('NO_HOSTS', 'ring node is not running', { userHash: hash, tag });
    if (!core.ready) return 'ring not handshaked';
    if (core.moves.isMoving(hash)) return 'user is being moved';
    const { users, settled, hosts } = core.state;
    const now = core.nowSecs();
    const tagId = users.tags.idOf(tag);
    const slot = users.liveSlot(tagId, hash, now);
    if (slot >= 0) {
      const host = hosts.byHostId(users.directory.hostOf(slot));
      if (host) {
        // near expiry a peer may already have dropped the user and place it anew elsewhere:
        // move it to where placement says, ring-wide, rather than extend a mapping others may not share
        if (users.directory.expiresAt(slot) - now <= this.nearExpirySecs) {
          const placed = settled.lookup(hash, tag);
          if (placed && placed.id !== host.id) {
            if (settled.mustWait(hash, tag)) return 'host change in flight';
            void core.move(tag, hash, placed, true);
            return 'user is being moved';
          }
        }
        if (users.directory.timestampOf(slot) < now) {
          users.directory.refreshSlot(slot, now);
          core.batcher.add(userKey(tagId, hash));
        }
        return route(host.ip.text, host.hostname, hash, tag);
      }
    }
    if (settled.mustWait(hash, tag)) return 'host change in flight';
    const host = settled.lookup(hash, tag);
    if (!host) {
      if (settled.unsettled) return 'no hosts';
      throw new RoutingError('NO_HOSTS', `no usable backend for tag "${tag}"`, { userHash: hash, tag });
    }
    users.assign(tagId, hash, host.id, now, 0);
    core.batcher.add(userKey(tagId, hash));
    return route(host.ip.text, host.hostname, hash, tag);
  }

  private wait(hash: number, tag: string, reason: string): Promise<Route> {
    return new Promise((resolve, reject) => {
      const since = this.core.o.scheduler.now();
      const waiter: Waiter = {
        hash,
        tag,
        since,
        reason,
        resolve,
        reject,
        timer: this.core.o.scheduler.setTimeout(() => {
          const secs = Math.round((this.core.o.scheduler.now() - since) / 1000);
          this.core.o.log.warn(`Timeout because ${waiter.reason} - queued for ${secs} secs`, { userHash: hash, tag });
          this.settle(waiter, () =>
            reject(new RoutingError('TIMEOUT', `timeout because ${waiter.reason}`, { userHash: hash, tag, secs })),
          );
        }, this.core.o.requestTimeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private retry(): void {
    for (const w of [...this.waiters]) {
      try {
        const decided = this.decide(w.hash, w.tag);
        if (typeof decided === 'string') w.reason = decided;
        else this.settle(w, () => w.resolve(decided));
      } catch (e) {
        this.settle(w, () => w.reject(e as Error));
      }
    }
  }

  private settle(w: Waiter, fn: () => void): void {
    if (!this.waiters.delete(w)) return;
    w.timer();
    fn();
  }
}

function route(backend: string, backendName: string | undefined, userHash: number, tag: string): Route {
  return backendName === undefined ? { backend, userHash, tag } : { backend, backendName, userHash, tag };
}
