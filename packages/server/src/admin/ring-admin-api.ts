import {
  type AdminLog,
  type DirectorAdminApi,
  type DirectorRow,
  type HostChange,
  type HostInfo,
  HostUpdateRefusedError,
  NotFoundError,
  parseUint32,
  type ResetUsersResult,
  type RingState,
  SyncTimeoutError,
  TryAgainError,
  UnavailableError,
  type UserEntry,
  type UserLookup,
} from '@usher/admin';
import {
  compareIp,
  type Host,
  type HostInput,
  HostTable,
  MAX_VHOST_COUNT,
  Placement,
  parseIp,
  type UserHasher,
  UsherError,
} from '@usher/core';
import type { RingNode } from '@usher/ring';
import { nodeId } from '../ring/director-servers.js';
import { KickSlots } from './kick-slots.js';

export interface RingAdminApiOptions {
  readonly ring: RingNode;
  readonly hasher: UserHasher;
  /** director_mail_servers as configured, resolved at start: USER-LOOKUP's "Initial config". */
  readonly initialHosts: readonly HostInput[];
  /** director_mail_servers resolved now: HOST-LIST-REMOVED re-reads it, as Dovecot does. */
  readonly configuredHosts: () => Promise<readonly HostInput[]>;
  /** director_max_parallel_kicks */
  readonly maxParallelKicks: number;
  /** director_max_parallel_moves: HOST-RESET-USERS default. */
  readonly maxParallelMoves: number;
  readonly log: AdminLog;
  /** Wall clock in ms (the ring's scheduler time); Date.now by default. */
  readonly clock?: () => number;
}

/**
 * The director admin API over a ring node: reads come from the replicated state, changes go
 * through the RingNode (which floods them and resolves after a sync round), and ring errors become
 * the typed admin errors Dovecot's replies correspond to.
 */
export class RingAdminApi implements DirectorAdminApi {
  private readonly o: RingAdminApiOptions;
  private readonly ring: RingNode;
  private readonly initial: Placement;
  private readonly kicks: KickSlots;
  private readonly clock: () => number;

  constructor(opts: RingAdminApiOptions) {
    this.clock = opts.clock ?? Date.now;
    this.o = opts;
    this.ring = opts.ring;
    this.initial = new Placement(tableOf(opts.initialHosts));
    this.kicks = new KickSlots(opts.maxParallelKicks);
  }

  async hostList(): Promise<HostInfo[]> {
    const dir = this.ring.state.users.directory;
    return this.ring.state.hosts.list().map((h) => ({
      ip: h.ip.text,
      vhostCount: h.vhostCount,
      users: dir.countByHost(h.id),
      tag: h.tag,
      down: h.down,
      lastUpdownChange: h.lastUpdownChange,
    }));
  }

  async hostListRemoved(): Promise<string[]> {
    const live = this.ring.state.hosts;
    return tableOf(await this.o.configuredHosts())
      .list()
      .filter((h) => !live.get(h.ip))
      .map((h) => h.ip.text);
  }

  async hostSet(change: HostChange): Promise<void> {
    const live = this.ring.state.hosts.get(change.ip);
    if (change.vhostCount !== undefined && change.vhostCount > MAX_VHOST_COUNT) {
      throw new HostUpdateRefusedError('VHOST_COUNT_TOO_LARGE', { ip: change.ip, vhostCount: change.vhostCount });
    }
    // Dovecot: an empty tag means "keep", a different one is refused
    const tag = change.tag ?? '';
    if (live && tag !== '' && tag !== live.tag) {
      throw new HostUpdateRefusedError('HOST_TAG_CHANGE', { ip: change.ip, from: live.tag, to: tag });
    }
    const input: HostInput = {
      ip: change.ip,
      ...(live || tag === '' ? {} : { tag }),
      ...(change.vhostCount === undefined ? {} : { vhostCount: change.vhostCount }),
    };
    await this.call(() => this.ring.setHost(input), { ip: change.ip });
  }

  async hostUpdate(change: HostChange & { readonly vhostCount: number }): Promise<void> {
    this.host(change.ip);
    await this.hostSet(change);
  }

  async hostUp(ip: string): Promise<void> {
    await this.call(() => this.ring.setHostDown(ip, false), { ip });
  }

  async hostDown(ip: string): Promise<void> {
    await this.call(() => this.ring.setHostDown(ip, true), { ip });
  }

  async hostRemove(ip: string): Promise<void> {
    const host = this.host(ip);
    const users = this.ring.state.users.directory.countByHost(host.id);
    if (users > 0) {
      this.o.log.warn(
        `Removed backend ${host.ip.text} with ${users} users. This is an unsafe operation and may cause the same users to end up in multiple backends.`,
        { ip: host.ip.text, users },
      );
    }
    await this.call(() => this.ring.removeHost(ip), { ip });
  }

  async hostFlush(ip?: string): Promise<void> {
    // the ring logs Dovecot's "unsafe operation" warning with the user count
    await this.call(() => this.ring.flushHost(ip), { ip });
  }

  async hostResetUsers(ip?: string, maxParallel?: number): Promise<ResetUsersResult> {
    const max = maxParallel ?? this.o.maxParallelMoves;
    const hosts = ip === undefined ? [...this.ring.state.hosts.list()] : [this.host(ip)];
    const total = { moved: 0, failed: 0, unplaceable: 0 };
    for (const h of hosts) {
      const r = await this.call(() => this.ring.resetHostUsers(h.ip.text, max), { ip: h.ip.text });
      total.moved += r.moved;
      total.failed += r.failed;
      total.unplaceable += r.unplaceable;
    }
    if (total.unplaceable > 0) {
      this.o.log.warn('flush: users whose tag has no usable backend stay where they are', { ...total, ip });
    }
    return total;
  }

  async userLookup(userOrHash: string, tag: string): Promise<UserLookup> {
    const userHash = this.hashOf(userOrHash);
    const state = this.ring.state;
    const users = state.users;
    const tagId = users.tags.find(tag);
    const slot = tagId === undefined ? -1 : users.liveSlot(tagId, userHash, this.nowSecs());
    return {
      userHash,
      current: slot < 0 ? undefined : { ip: users.hostIpOf(slot), expires: users.directory.expiresAt(slot) },
      hashedIp: state.placement.lookup(userHash, tag)?.ip.text ?? '',
      initialIp: this.initial.lookup(userHash, tag)?.ip.text ?? '',
    };
  }

  async userList(ip?: string): Promise<UserEntry[]> {
    const users = this.ring.state.users;
    const dir = users.directory;
    const only = ip === undefined ? undefined : this.ring.state.hosts.get(ip);
    if (ip !== undefined && !only) return [];
    const now = this.nowSecs();
    const out: UserEntry[] = [];
    for (let slot = dir.oldestSlot(); slot >= 0; slot = dir.newerSlot(slot)) {
      if (dir.isExpired(slot, now) || (only && dir.hostOf(slot) !== only.id)) continue;
      out.push({
        userHash: dir.hashOf(slot),
        tag: users.tags.nameOf(dir.tagOf(slot)),
        ip: users.hostIpOf(slot),
        expires: dir.expiresAt(slot),
      });
    }
    return out;
  }

  async userMove(userOrHash: string, ip: string): Promise<void> {
    const host = this.host(ip);
    const userHash = this.hashOf(userOrHash);
    await this.call(() => this.ring.moveUser(userHash, host.tag, host.ip.text), { userHash, ip });
  }

  async userKick(user: string, nowait: boolean): Promise<void> {
    const done = await this.kicks.run(nowait, () =>
      this.call(() => this.ring.kickUser(user), { user }).then(() => true),
    );
    if (!done) throw new TryAgainError('too many kicks in progress', { user, limit: this.o.maxParallelKicks });
  }

  /**
   * Usher logs users in against the backends itself and never sees passdb extra fields, so no
   * session carries the `user_*` alternative names this kick matches: like Dovecot with no matching
   * session, it kicks nobody and answers OK.
   */
  async userKickAlt(field: string, value: string, nowait: boolean): Promise<void> {
    if (nowait && this.kicks.busy) throw new TryAgainError('too many kicks in progress', { field });
    this.o.log.info('kick by alternative username: no session carries passdb fields, nothing to kick', {
      field,
      value,
    });
  }

  async directorList(): Promise<DirectorRow[]> {
    const s = this.ring.status();
    const ring: RingState = !s.ready ? 'handshaking' : s.synced ? 'synced' : 'syncing';
    const self = splitNode(s.self);
    const rows: { key: ReturnType<typeof splitNode>; rows: DirectorRow[] }[] = [
      {
        key: self,
        rows: [
          {
            kind: 'self',
            ip: self.ip,
            port: self.port,
            ring,
            syncLagMs: s.syncLagMs,
            lastSyncMs: Math.round(s.lastSyncRoundMs ?? 0),
          },
        ],
      },
    ];
    const nowMs = this.clock();
    for (const p of s.peers) {
      const key = splitNode(p.node);
      if (p.state !== 'up') {
        const row: DirectorRow = {
          kind: 'member',
          ip: key.ip,
          port: key.port,
          removed: false,
          lastFailed: 0,
          state: p.state,
        };
        rows.push({ key, rows: [row] });
        continue;
      }
      const types = p.roles.length > 0 ? p.roles : (['out'] as const);
      const lastInput = p.silentMs === undefined ? undefined : Math.floor((nowMs - p.silentMs) / 1000);
      rows.push({
        key,
        rows: types.map((type) => ({
          kind: 'link' as const,
          ip: key.ip,
          port: key.port,
          type,
          lastFailed: 0,
          state: ring,
          pingMs: p.rttMs,
          buffered: p.buffered,
          lastInput,
        })),
      });
    }
    rows.sort((a, b) => compareIp(a.key.addr, b.key.addr) || a.key.port - b.key.port);
    return rows.flatMap((r) => r.rows);
  }

  async directorAdd(ip: string, port?: number): Promise<void> {
    const node = nodeId(ip, port ?? splitNode(this.ring.self).port);
    await this.call(() => this.ring.addMember(node), { node });
  }

  async directorRemove(ip: string, port?: number): Promise<void> {
    const members = [this.ring.self, ...this.ring.status().peers.map((p) => p.node)].map(splitNode);
    const found = members
      .filter((m) => m.ip === ip && (port === undefined || m.port === port))
      .sort((a, b) => a.port - b.port)[0];
    if (!found) throw new NotFoundError('no such ring member', { ip, port });
    await this.call(() => this.ring.removeMember(found.node), { node: found.node });
  }

  private nowSecs(): number {
    return Math.floor(this.clock() / 1000);
  }

  private host(ip: string): Host {
    const host = this.ring.state.hosts.get(ip);
    if (!host) throw new NotFoundError('host not found', { ip });
    return host;
  }

  /** A username, or (all digits, fits 32 bits) the hash itself; a hash that cannot be expanded is temporary. */
  private hashOf(userOrHash: string): number {
    const asHash = parseUint32(userOrHash);
    if (asHash !== undefined) return asHash;
    try {
      return this.o.hasher.hash(userOrHash);
    } catch (e) {
      this.o.log.error(`Failed to expand director_username_hash: ${(e as Error).message}`, { user: userOrHash });
      throw new TryAgainError('cannot hash the username', { user: userOrHash });
    }
  }

  /** Runs a ring operation, translating its errors into the admin API's. */
  private async call<T>(op: () => Promise<T>, context: Record<string, unknown>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw translate(e, context);
    }
  }
}

function translate(e: unknown, context: Record<string, unknown>): unknown {
  if (!(e instanceof UsherError)) return e;
  const ctx = { ...e.context, ...context };
  switch (e.code) {
    case 'SYNC_TIMEOUT':
      return new SyncTimeoutError(e.message, ctx);
    case 'TRYAGAIN':
      return new TryAgainError(e.message, ctx);
    case 'HOST_NOT_FOUND':
      return new NotFoundError(e.message, ctx);
    case 'HOST_TAG_CHANGE':
      return new HostUpdateRefusedError('HOST_TAG_CHANGE', ctx);
    case 'NOT_RUNNING':
      return new UnavailableError('the node is shutting down', ctx);
    default:
      return e;
  }
}

function tableOf(hosts: readonly HostInput[]): HostTable {
  const table = new HostTable();
  for (const h of hosts) table.set(h);
  return table;
}

/** "ip:port" / "[v6]:port" into its parts. */
function splitNode(node: string): {
  node: string;
  ip: string;
  port: number;
  addr: NonNullable<ReturnType<typeof parseIp>>;
} {
  const colon = node.lastIndexOf(':');
  const addr = parseIp(node.slice(0, colon));
  if (!addr) throw new UsherError('BAD_MEMBER', `not a ring member id: ${node}`, { node });
  return { node, ip: addr.text, port: Number(node.slice(colon + 1)), addr };
}
