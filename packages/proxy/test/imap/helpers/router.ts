import { HostTable, Placement, type Route, type Router, RoutingError, UserHasher } from '@usher/core';

/**
 * The director's placement (user hash on the vhost ring of the hosts), without a user directory:
 * enough for the proxy, which only asks "where does this user go". `overrides` pins a user to an
 * address (e.g. one where nothing listens); `calls` records who was routed.
 */
export class TestRouter implements Router {
  readonly refreshIntervalMs = 60_000;
  readonly calls: string[] = [];
  private readonly hasher = new UserHasher();
  private readonly placement: Placement;
  private readonly overrides: ReadonlyMap<string, string>;

  constructor(ips: readonly string[], overrides: Record<string, string> = {}) {
    const table = new HostTable();
    for (const ip of ips) table.set({ ip });
    this.placement = new Placement(table);
    this.overrides = new Map(Object.entries(overrides));
  }

  /** Where routing sends this user, without recording a call. */
  backendOf(username: string): string {
    const host = this.placement.lookup(this.hasher.hash(username));
    if (!host) throw new Error('no hosts');
    return host.ip.text;
  }

  async route(username: string, tag: string): Promise<Route> {
    this.calls.push(username);
    const userHash = this.hasher.hash(username);
    const pinned = this.overrides.get(username);
    const backend = pinned ?? this.placement.lookup(userHash, tag)?.ip.text;
    if (!backend) throw new RoutingError('NO_HOSTS', 'no backend for this tag', { tag });
    return { backend, userHash, tag };
  }

  refresh(): void {}
}
