import { UserDirectory } from '../directory/user-directory.js';
import { HashFormatError, RoutingError } from '../errors/usher-error.js';
import type { UserHasher } from '../hash/user-hash.js';
import type { HostTable } from '../hosts/host-table.js';
import { Placement } from '../placement/placement.js';
import type { Clock, Route, Router } from './router.js';
import { TagIds } from './tag-ids.js';

export interface LocalRouterOptions {
  readonly hosts: HostTable;
  readonly hasher: UserHasher;
  readonly clock: Clock;
  /** director_user_expire in seconds (default 900, minimum 10). */
  readonly userExpireSecs?: number;
  readonly directory?: UserDirectory;
  readonly tags?: TagIds;
}

/**
 * Routing for one node on its own (a Director with an empty director_servers): an existing,
 * unexpired assignment wins, even if its host is now down or at weight 0 (Dovecot semantics:
 * those only affect new users); otherwise the vhost ring places the user and the assignment is
 * recorded. Sessions that stay open keep it alive through refresh().
 */
export class LocalRouter implements Router {
  readonly hosts: HostTable;
  readonly directory: UserDirectory;
  readonly placement: Placement;
  readonly tags: TagIds;
  readonly refreshIntervalMs: number;
  private readonly hasher: UserHasher;
  private readonly clock: Clock;
  private expiredAt = -1;

  constructor(opts: LocalRouterOptions) {
    this.hosts = opts.hosts;
    this.hasher = opts.hasher;
    this.clock = opts.clock;
    this.directory = opts.directory ?? new UserDirectory({ expireSecs: opts.userExpireSecs ?? 900 });
    this.tags = opts.tags ?? new TagIds();
    this.placement = new Placement(this.hosts);
    this.refreshIntervalMs = (this.directory.expireSecs * 1000) / 2;
  }

  async route(username: string, tag: string): Promise<Route> {
    return this.routeNow(username, tag);
  }

  /** The synchronous core of route(), for callers that hold no promise (admin, benchmarks). */
  routeNow(username: string, tag: string): Route {
    let hash: number;
    try {
      hash = this.hasher.hash(username);
    } catch (e) {
      if (e instanceof HashFormatError) throw new RoutingError('HASH_FAILED', e.message, { ...e.context });
      throw e;
    }
    return this.routeHash(hash, tag);
  }

  routeHash(userHash: number, tag: string): Route {
    const now = this.nowSecs();
    // expiry has one-second resolution: once per second is enough, and keeps lookups cheap
    if (now !== this.expiredAt) {
      this.directory.expire(now);
      this.expiredAt = now;
    }
    const tagId = this.tags.idOf(tag);
    const slot = this.directory.lookup(tagId, userHash);
    if (slot >= 0) {
      const host = this.hosts.byHostId(this.directory.hostOf(slot));
      if (host) {
        if (this.directory.timestampOf(slot) < now) this.directory.refreshSlot(slot, now);
        return route(host.ip.text, host.hostname, userHash, tag);
      }
      this.directory.removeSlot(slot);
    }
    const host = this.placement.lookup(userHash, tag);
    if (!host) throw new RoutingError('NO_HOSTS', `no usable backend for tag "${tag}"`, { userHash, tag });
    this.directory.upsert(tagId, userHash, host.id, now);
    return route(host.ip.text, host.hostname, userHash, tag);
  }

  refresh(userHash: number, tag: string): void {
    const tagId = this.tags.find(tag);
    if (tagId !== undefined) this.directory.refresh(tagId, userHash, this.nowSecs());
  }

  /** Drop the assignments of a backend (before removing it, or an unsafe flush). */
  forgetBackend(ip: string): number {
    const host = this.hosts.get(ip);
    return host ? this.directory.removeByHost(host.id) : 0;
  }

  private nowSecs(): number {
    return Math.floor(this.clock.now() / 1000);
  }
}

function route(backend: string, backendName: string | undefined, userHash: number, tag: string): Route {
  return backendName === undefined ? { backend, userHash, tag } : { backend, backendName, userHash, tag };
}
