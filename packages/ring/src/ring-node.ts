import type { ClusterState, HostHealthSink, HostInput, HostWriter, Route, Router } from '@usher/core';
import { RingError } from './errors.js';
import { type ResetHostUsersResult, RingAdmin } from './ring-admin.js';
import { RingCore } from './ring-core.js';
import { RingHealth, type RingHealthOptions } from './ring-health.js';
import type { PeerStatus, RingNodeOptions, RingStatus } from './ring-options.js';
import { RingRouter } from './ring-router.js';

/**
 * One Usher node's membership in the ring: it replicates the host table and the user directory
 * with its peers, routes logins consistently with them (`router`), and runs the director admin
 * operations as ring-wide transactions. Time, network and session kicks are injected, so a whole
 * ring runs deterministically in one process over the in-memory transport.
 */
export class RingNode {
  /** What the proxy routes through (the core Router seam). */
  readonly router: Router & { routeHash(userHash: number, tag: string): Promise<Route>; readonly waiting: number };
  private readonly core: RingCore;
  private readonly admin: RingAdmin;
  private readonly ringRouter: RingRouter;

  constructor(opts: RingNodeOptions) {
    this.core = new RingCore(opts);
    this.ringRouter = new RingRouter(this.core, opts.hasher);
    this.router = this.ringRouter;
    this.admin = new RingAdmin(this.core);
  }

  get self(): string {
    return this.core.o.self;
  }

  /** The replicated state, for reads (admin listings, tests, benches). Change it only through this node. */
  get state(): ClusterState {
    return this.core.state;
  }

  async start(): Promise<void> {
    await this.core.start();
  }

  async stop(): Promise<void> {
    this.ringRouter.rejectAll(new RingError('NOT_RUNNING', 'ring node stopped'));
    await this.core.stop();
  }

  setHost(input: HostInput): Promise<void> {
    return this.admin.setHost(input);
  }

  removeHost(ip: string): Promise<void> {
    return this.admin.removeHost(ip);
  }

  /** Admin HOST-UP / HOST-DOWN. `by.health`: the health checks' decision, which never overrides an operator's down. */
  setHostDown(ip: string, down: boolean, by: HostWriter = {}): Promise<void> {
    return this.admin.setHostDown(ip, down, by);
  }

  /** The seam the health checks use (core's HostHealthSink), backed by this node. */
  healthSink(opts: RingHealthOptions = {}): HostHealthSink {
    return new RingHealth(this.core, this.admin, opts);
  }

  flushHost(ip?: string): Promise<number> {
    return this.admin.flushHost(ip);
  }

  moveUser(userHash: number, tag: string, toIp: string): Promise<void> {
    return this.admin.moveUser(userHash, tag, toIp);
  }

  resetHostUsers(ip: string, maxParallel = 100): Promise<ResetHostUsersResult> {
    return this.admin.resetHostUsers(ip, maxParallel);
  }

  kickUser(username: string): Promise<void> {
    return this.admin.kickUser(username);
  }

  addMember(node: string): Promise<void> {
    return this.admin.addMember(node);
  }

  removeMember(node: string): Promise<void> {
    return this.admin.removeMember(node);
  }

  /** Where this node currently sends the user, without refreshing or placing it (undefined = no live assignment). */
  assignment(userHash: number, tag: string): string | undefined {
    const users = this.core.state.users;
    const tagId = users.tags.find(tag);
    if (tagId === undefined) return undefined;
    const slot = users.liveSlot(tagId, userHash, this.core.nowSecs());
    return slot < 0 ? undefined : users.hostIpOf(slot);
  }

  /** This node's bucket digests now (what it would send in a hello). */
  digests(): Uint32Array {
    return this.core.state.digests(this.core.nowSecs());
  }

  status(): RingStatus {
    const core = this.core;
    const now = core.o.scheduler.now();
    const links = core.links.links();
    const peers: PeerStatus[] = [];
    for (const node of core.links.topology.list()) {
      if (node === core.o.self) continue;
      const mine = links.filter((l) => l.peer === node);
      const roles: ('right' | 'left')[] = [];
      if (core.links.right?.peer === node) roles.push('right');
      if (mine.some((l) => l.direction === 'inbound')) roles.push('left');
      const heard = mine.length > 0 ? Math.max(...mine.map((l) => l.lastHeardAt)) : undefined;
      peers.push({
        node,
        state:
          mine.length > 0
            ? 'up'
            : core.links.connectingTo === node
              ? 'connecting'
              : core.links.topology.isFailed(node, now)
                ? 'failed'
                : 'idle',
        roles,
        rttMs: mine.find((l) => l.rttMs !== undefined)?.rttMs,
        buffered: mine.reduce((sum, l) => sum + l.link.buffered, 0),
        silentMs: heard === undefined ? undefined : now - heard,
      });
    }
    return {
      self: core.o.self,
      ready: core.ready,
      alone: core.links.alone,
      synced: !core.sync.busy && !core.state.settled.unsettled,
      syncLagMs: core.sync.lagMs,
      lastSyncRoundMs: core.sync.lastRoundDurationMs,
      hostsHash: core.state.hostsHash(),
      users: core.state.users.size,
      movingUsers: core.moves.size,
      waitingRequests: this.ringRouter.waiting,
      peers,
    };
  }
}
