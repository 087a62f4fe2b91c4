import { type Host, type HostInput, type HostRecord, type HostWriter, parseIp, userKey } from '@usher/core';
import { RingError } from './errors.js';
import type { RingCore } from './ring-core.js';
import { parseMember } from './topology.js';

export interface ResetHostUsersResult {
  /** Users moved to where placement now puts them. */
  readonly moved: number;
  /** Moves that did not complete (TRYAGAIN, or not confirmed in time). */
  readonly failed: number;
  /** Users whose tag has no usable backend left: not moved. */
  readonly unplaceable: number;
}

/**
 * The director admin operations on a ring node. Each changes the local state, floods the change,
 * and resolves only after one of this node's sync rounds confirmed every node has it (or rejects
 * with SYNC_TIMEOUT), so `doveadm director add` returning means the ring agrees.
 */
export class RingAdmin {
  private readonly core: RingCore;

  constructor(core: RingCore) {
    this.core = core;
  }

  /** Add a backend or change its vhost count / up-down / hostname. A tag change is refused. */
  async setHost(input: HostInput): Promise<void> {
    this.running();
    const record = this.core.state.setHost(input, this.core.o.scheduler.now());
    if (record) await this.publish(record);
  }

  /** Remove a backend; every node drops its users (without kicking, as Dovecot). */
  async removeHost(ip: string): Promise<void> {
    this.running();
    this.host(ip);
    await this.publish(this.core.state.removeHost(ip, this.core.o.scheduler.now()));
  }

  /** HOST-UP / HOST-DOWN; `by.health` when the health checks decided it (an operator's down then holds). */
  async setHostDown(ip: string, down: boolean, by: HostWriter = {}): Promise<void> {
    this.running();
    this.host(ip);
    const record = this.core.state.setHostDown(ip, down, this.core.o.scheduler.now(), by);
    if (record) await this.publish(record);
  }

  /**
   * Unsafe, as Dovecot's HOST-FLUSH: the users of the host (of every host without `ip`) lose their
   * assignment without their sessions being kicked. Replicated as re-placement with a fresh epoch
   * (the ring has no deletions), which is where their next login would have gone. Returns how many
   * users changed backend.
   */
  async flushHost(ip?: string): Promise<number> {
    this.running();
    const core = this.core;
    const targets = ip === undefined ? core.state.hosts.list() : [this.host(ip)];
    const ids = new Set(targets.map((h) => h.id));
    const users = core.state.users;
    const dir = users.directory;
    const now = core.nowSecs();
    const epoch = core.state.hlc.tick(core.o.scheduler.now()).ms;
    const keys: number[] = [];
    for (let slot = 0; slot < dir.capacity; slot++) {
      if (!dir.isOccupied(slot) || dir.isExpired(slot, now) || !ids.has(dir.hostOf(slot))) continue;
      keys.push(userKey(dir.tagOf(slot), dir.hashOf(slot)));
    }
    const changed: number[] = [];
    for (const key of keys) {
      const tagId = Math.floor(key / 2 ** 32);
      const hash = key % 2 ** 32;
      const slot = users.liveSlot(tagId, hash, now);
      const to = core.state.placement.lookup(hash, users.tags.nameOf(tagId));
      if (slot < 0 || !to || to.id === dir.hostOf(slot)) continue;
      users.assign(tagId, hash, to.id, dir.timestampOf(slot), Math.max(epoch, users.epochOf(slot) + 1));
      changed.push(key);
    }
    core.o.log.warn(
      `Flushed ${ip ?? 'all backend hosts'} with ${keys.length} users. This is an unsafe operation: sessions are not kicked`,
      { ip, users: keys.length, reassigned: changed.length },
    );
    const chunk = core.o.stateChunkUsers;
    for (let i = 0; i < changed.length; i += chunk) {
      core.floodUpdate({ users: users.pack(changed.slice(i, i + chunk), now) });
    }
    core.wake();
    await core.sync.request();
    return changed.length;
  }

  /**
   * Dovecot USER-MOVE: the user goes to `toIp` ring-wide; every node kicks its sessions elsewhere,
   * and logins of the user wait until the ring confirmed plus user_kick_delay. Resolves then.
   */
  async moveUser(userHash: number, tag: string, toIp: string): Promise<void> {
    this.running();
    const core = this.core;
    const host = this.host(toIp);
    if (core.moves.isMoving(userHash)) {
      throw new RingError('TRYAGAIN', 'user is being moved already', { userHash, tag });
    }
    const users = core.state.users;
    const slot = users.liveSlot(users.tags.idOf(tag), userHash, core.nowSecs());
    if (slot >= 0 && users.directory.hostOf(slot) === host.id) {
      users.directory.refreshSlot(slot, core.nowSecs());
      core.batcher.add(userKey(users.tags.idOf(tag), userHash));
      return;
    }
    await core.move(tag, userHash, host, true);
  }

  /** Dovecot HOST-RESET-USERS: move every user of the host whose placement now differs, `maxParallel` at a time. */
  async resetHostUsers(ip: string, maxParallel = 100): Promise<ResetHostUsersResult> {
    this.running();
    const core = this.core;
    const host = this.host(ip);
    const users = core.state.users;
    const dir = users.directory;
    const now = core.nowSecs();
    const todo: { tag: string; hash: number; to: Host }[] = [];
    let unplaceable = 0;
    for (let slot = 0; slot < dir.capacity; slot++) {
      if (!dir.isOccupied(slot) || dir.isExpired(slot, now) || dir.hostOf(slot) !== host.id) continue;
      const tag = users.tags.nameOf(dir.tagOf(slot));
      const to = core.state.placement.lookup(dir.hashOf(slot), tag);
      if (!to) unplaceable++;
      else if (to.id !== host.id) todo.push({ tag, hash: dir.hashOf(slot), to });
    }
    let moved = 0;
    let failed = 0;
    let next = 0;
    const started = core.o.scheduler.now();
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const t = todo[next++] as (typeof todo)[number];
        try {
          await this.moveUser(t.hash, t.tag, t.to.ip.text);
          moved++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(maxParallel, todo.length)) }, worker));
    const secs = Math.round((core.o.scheduler.now() - started) / 1000);
    core.o.log.info(`Moved ${moved} users in 1 hosts in ${secs} secs (max parallel=${maxParallel})`, {
      ip: host.ip.text,
      failed,
      unplaceable,
    });
    return { moved, failed, unplaceable };
  }

  /** Dovecot USER-KICK: every node closes the sessions logged in with this username. */
  async kickUser(username: string): Promise<void> {
    this.running();
    this.core.floodUpdate({ kickUsers: [username] });
    try {
      this.core.o.kicks.kickUser(username);
    } catch (e) {
      this.core.o.log.error('ring: kick failed', { username, error: String(e) });
    }
    await this.core.sync.request();
  }

  /** `ring add`: announce a member; every node adds it and the one left of it links to it. */
  async addMember(node: string): Promise<void> {
    this.running();
    parseMember(node);
    this.core.links.memberSeen(node);
    this.core.floodMember(node, false);
    await this.core.sync.request();
  }

  /** `ring remove`: every node forgets the member and closes its links to it, for good. */
  async removeMember(node: string): Promise<void> {
    this.running();
    parseMember(node);
    this.core.floodMember(node, true);
    this.core.links.memberRemoved(node);
    await this.core.sync.request();
  }

  private async publish(record: HostRecord): Promise<void> {
    this.core.floodUpdate({ hosts: [record] });
    this.core.hostsChanged();
    await this.core.sync.request();
  }

  private host(ip: string): Host {
    const parsed = parseIp(ip);
    const host = parsed ? this.core.state.hosts.get(parsed) : undefined;
    if (!host) throw new RingError('HOST_NOT_FOUND', 'host not found', { ip });
    return host;
  }

  private running(): void {
    if (!this.core.running) throw new RingError('NOT_RUNNING', 'ring node is not running');
  }
}
