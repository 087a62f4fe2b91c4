import {
  ClusterState,
  emptyUserBatch,
  type Host,
  type HostRecord,
  type UserBatch,
  type UserMergeResult,
  userKey,
} from '@usher/core';
import { AntiEntropy } from './anti-entropy.js';
import { FloodDedup, initialSeq } from './flood.js';
import type { RingMessage } from './messages.js';
import { MoveTracker } from './moves.js';
import { type PeerLink, PeerLinks } from './peer-links.js';
import { type ResolvedRingOptions, type RingNodeOptions, resolveOptions } from './ring-options.js';
import type { Cancel } from './scheduler.js';
import { SyncRounds } from './sync.js';
import { UpdateBatcher } from './update-batcher.js';

type Update = Extract<RingMessage, { kind: 'update' }>;
type Health = Extract<RingMessage, { kind: 'health' }>;
type Kick = Update['kicks'][number];

export interface UpdateParts {
  readonly hosts?: readonly HostRecord[];
  readonly users?: UserBatch;
  readonly kicks?: readonly Kick[];
  readonly kickUsers?: readonly string[];
}

/**
 * The ring's plumbing, shared by the router and the admin operations: the replicated state, the
 * links, flooding with (origin, seq) de-duplication, the sync token, moves, batching, expiry.
 * Everything peers send arrives in `onMessage` and is applied through `applyHosts`/`applyUsers`,
 * which also carry out the consequences (kicks, sync rounds, waking waiting logins).
 */
export class RingCore {
  readonly o: ResolvedRingOptions;
  readonly state: ClusterState;
  readonly links: PeerLinks;
  readonly sync: SyncRounds;
  readonly moves: MoveTracker;
  readonly batcher: UpdateBatcher;
  readonly exchange: AntiEntropy;
  ready = false;
  running = false;
  private readonly dedup = new FloodDedup();
  private seq: number;
  private readonly wakeListeners: (() => void)[] = [];
  private readonly healthListeners: ((m: Health) => void)[] = [];
  private wakeScheduled = false;
  private housekeeping: Cancel | undefined;

  constructor(opts: RingNodeOptions) {
    const o = resolveOptions(opts);
    this.o = o;
    this.seq = initialSeq(o.scheduler.now());
    this.state = new ClusterState({ node: o.self, hosts: o.hosts, userExpireSecs: o.userExpireSecs });
    this.links = new PeerLinks({
      self: o.self,
      members: o.members,
      transport: o.transport,
      scheduler: o.scheduler,
      pingIntervalMs: o.pingIntervalMs,
      pingTimeoutMs: o.pingTimeoutMs,
      retryFailedMs: o.retryFailedMs,
      log: o.log,
      onUp: (pl) => this.linkUp(pl),
      onDown: (pl) => this.linkDown(pl),
      onMessage: (pl, m) => this.onMessage(pl, m),
    });
    this.sync = new SyncRounds({
      self: o.self,
      scheduler: o.scheduler,
      firstSeq: initialSeq(o.scheduler.now()),
      resendMs: o.syncResendMs,
      timeoutMs: o.syncTimeoutMs,
      log: o.log,
      hostsHash: () => this.state.hostsHash(),
      sendRight: (m) => this.links.right?.send(m) ?? false,
      alone: () => this.links.alone,
      onHostsMismatch: () => this.floodUpdate({ hosts: this.state.ledger.list() }),
      onRound: (seq) => {
        this.state.settled.settle();
        this.moves.onRound(seq);
        this.wake();
      },
    });
    this.moves = new MoveTracker({
      scheduler: o.scheduler,
      sync: this.sync,
      kickDelayMs: o.userKickDelayMs,
      timeoutMs: o.syncTimeoutMs,
      log: o.log,
      onFinished: () => this.wake(),
    });
    this.batcher = new UpdateBatcher({
      scheduler: o.scheduler,
      intervalMs: o.updateBatchMs,
      maxUsers: o.updateBatchUsers,
      flush: (keys) => this.floodUpdate({ users: this.state.users.pack(keys, this.nowSecs()) }),
    });
    this.exchange = new AntiEntropy({
      self: o.self,
      state: this.state,
      scheduler: o.scheduler,
      chunkUsers: o.stateChunkUsers,
      floodLearnedMax: o.floodLearnedMax,
      members: () => this.links.topology.list(),
      links: () => this.links.links(),
      isReady: () => this.ready,
      becameReady: () => this.becomeReady('received the ring state'),
      memberSeen: (node) => this.links.memberSeen(node),
      applyHosts: (records, wholeTable) => this.applyHosts(records, wholeTable),
      applyUsers: (batch, collect) => this.applyUsers(batch, collect, true),
      floodLearned: ({ hosts, users, kicks }, source) => {
        this.floodUpdate({ hosts, users: users[0], kicks }, source);
        for (const more of users.slice(1)) this.floodUpdate({ users: more }, source);
      },
    });
  }

  nowSecs(): number {
    return Math.floor(this.o.scheduler.now() / 1000);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.links.start();
    this.tick();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.housekeeping?.();
    this.batcher.stop();
    this.sync.stop();
    this.moves.stop();
    this.links.stop();
    await this.o.transport.close();
  }

  /** Called (coalesced, soon) after anything that may let a waiting login go on. */
  onWake(fn: () => void): void {
    this.wakeListeners.push(fn);
  }

  wake(): void {
    if (this.wakeScheduled || !this.running) return;
    this.wakeScheduled = true;
    this.o.scheduler.setTimeout(() => {
      this.wakeScheduled = false;
      for (const fn of this.wakeListeners) fn();
    }, 0);
  }

  /** Originate a flooded update: to every link but `except`. */
  floodUpdate(parts: UpdateParts, except?: PeerLink): void {
    const seq = ++this.seq;
    this.dedup.accept(this.o.self, seq);
    const m: Update = {
      kind: 'update',
      origin: this.o.self,
      seq,
      hosts: parts.hosts ?? [],
      users: parts.users ?? emptyUserBatch(),
      kicks: parts.kicks ?? [],
      kickUsers: parts.kickUsers ?? [],
    };
    for (const pl of this.links.links()) if (pl !== except) pl.send(m);
  }

  floodMember(node: string, removed: boolean): void {
    const seq = ++this.seq;
    this.dedup.accept(this.o.self, seq);
    const m: RingMessage = { kind: 'member', origin: this.o.self, seq, node, removed };
    for (const pl of this.links.links()) pl.send(m);
  }

  /** Called with every other node's health report (flooded `health` messages), once each. */
  onHealth(fn: (m: Health) => void): void {
    this.healthListeners.push(fn);
  }

  /** Flood this node's health verdicts. */
  floodHealth(validMs: number, observations: Health['observations']): void {
    const seq = ++this.seq;
    this.dedup.accept(this.o.self, seq);
    this.forwardHealth({ kind: 'health', origin: this.o.self, seq, validMs, observations });
  }

  /** Merge host records from a peer; returns those that won here. */
  applyHosts(records: readonly HostRecord[], wholeTable: boolean): HostRecord[] {
    const before = this.state.hosts.version;
    const r = this.state.mergeHosts(records, this.o.scheduler.now(), { wholeTable });
    for (const { record, error } of r.rejected) {
      this.o.log.warn('ring: host record rejected', { ip: record.ip, code: error.code, ...error.context });
    }
    if (this.state.hosts.version !== before) this.hostsChanged();
    return r.applied;
  }

  /** A local or remote host change: it settles after one of our sync rounds; logins may re-check now. */
  hostsChanged(): void {
    this.sync.want();
    this.wake();
  }

  /**
   * Merge users from a peer. A lost conflict always kicks here. A move (higher epoch) kicks here only
   * when `kickMoves`: an update carries its own kick list (a flush carries none, by design), while
   * a state transfer may bring a move made on the other side of a partition, which must kick.
   */
  applyUsers(batch: UserBatch, collectLearned: number, kickMoves: boolean): UserMergeResult {
    const r = this.state.mergeUsers(batch, this.nowSecs(), collectLearned);
    for (const c of r.conflicts) {
      this.o.log.warn(`user hash ${c.hash} redirected to two hosts: ${c.winnerIp} and ${c.loserIp}`, {
        userHash: c.hash,
        tag: c.tag,
        winner: c.winnerIp,
        loser: c.loserIp,
      });
    }
    for (const hc of r.hostChanges) if (hc.conflict || kickMoves) void this.kickLocally(hc.hash, hc.toIp);
    // the sender still believes in the loser: tell the whole ring who won, and kick the loser everywhere
    const outvoted = r.conflicts.filter((c) => !c.incomingWon);
    if (outvoted.length > 0) {
      const keys = outvoted.map((c) => userKey(this.state.users.tags.idOf(c.tag), c.hash));
      const kicks = outvoted.map((c) => ({ hash: c.hash, exceptHost: c.winnerIp }));
      this.floodUpdate({ users: this.state.users.pack(keys, this.nowSecs()), kicks });
      for (const k of kicks) void this.kickLocally(k.hash, k.exceptHost);
    }
    if (r.changed > 0) this.wake();
    return r;
  }

  /** Kick this node's sessions of the hash (except on `exceptHost`) and hold its logins until the ring confirmed. */
  kickLocally(hash: number, exceptHost: string): Promise<void> {
    try {
      this.o.kicks.kickHash(hash, exceptHost === '' ? undefined : exceptHost);
    } catch (e) {
      // best effort, as Dovecot's IPC kicks: the move goes on
      this.o.log.error('ring: kick failed', { userHash: hash, error: String(e) });
    }
    return this.moves.begin(hash);
  }

  /**
   * A ring-wide move of one user (Dovecot USER-MOVE): a fresh epoch wins over every older
   * assignment, the flood carries the kick, and the returned promise settles when the move is over
   * here. Without `kick` (flush), the assignment just changes.
   */
  move(tag: string, hash: number, host: Host, kick: boolean): Promise<void> {
    const now = this.nowSecs();
    const users = this.state.users;
    const tagId = users.tags.idOf(tag);
    const slot = users.liveSlot(tagId, hash, now);
    const epoch = Math.max(this.state.hlc.tick(this.o.scheduler.now()).ms, slot >= 0 ? users.epochOf(slot) + 1 : 0);
    users.assign(tagId, hash, host.id, now, epoch);
    const kicks = kick ? [{ hash, exceptHost: host.ip.text }] : [];
    this.floodUpdate({ users: users.pack([userKey(tagId, hash)], now), kicks });
    this.wake();
    return kick ? this.kickLocally(hash, host.ip.text) : Promise.resolve();
  }

  onMessage(pl: PeerLink, m: RingMessage): void {
    if (!this.running) return;
    switch (m.kind) {
      case 'hello':
        this.exchange.onHello(pl, m);
        return;
      case 'state':
        this.exchange.onState(pl, m);
        return;
      case 'update':
        this.onUpdate(pl, m);
        return;
      case 'sync':
        this.sync.onToken(m);
        return;
      case 'member':
        if (!this.dedup.accept(m.origin, m.seq)) return;
        this.forward(m, pl);
        if (m.node === this.o.self) {
          if (m.removed) this.o.log.error('ring: another node removed us from the ring', { by: m.origin });
        } else if (m.removed) this.links.memberRemoved(m.node);
        else this.links.memberSeen(m.node);
        return;
      case 'health':
        if (!this.dedup.accept(m.origin, m.seq) || m.origin === this.o.self) return;
        this.forwardHealth(m, pl);
        for (const fn of this.healthListeners) fn(m);
        return;
      default:
        return;
    }
  }

  /** Health goes only to peers that announced they understand it (an older node would drop the link). */
  private forwardHealth(m: Health, from?: PeerLink): void {
    for (const pl of this.links.links()) if (pl !== from && pl.features.has('health')) pl.send(m);
  }

  private onUpdate(pl: PeerLink, m: Update): void {
    if (!this.dedup.accept(m.origin, m.seq)) return;
    // forwarded before anything else we send on, so a sync token behind it stays behind it
    this.forward(m, pl);
    if (m.hosts.length > 0) this.applyHosts(m.hosts, false);
    if (m.users.hashes.length > 0) this.applyUsers(m.users, 0, false);
    for (const k of m.kicks) void this.kickLocally(k.hash, k.exceptHost);
    for (const u of m.kickUsers) {
      try {
        this.o.kicks.kickUser(u);
      } catch (e) {
        this.o.log.error('ring: kick failed', { username: u, error: String(e) });
      }
    }
  }

  private forward(m: RingMessage, from: PeerLink): void {
    for (const pl of this.links.links()) if (pl !== from) pl.send(m);
  }

  private linkUp(pl: PeerLink): void {
    this.exchange.linkUp(pl);
    // tell the ring this member is alive: a left neighbour that skipped it links to it again
    if (pl.direction === 'inbound') this.floodMember(pl.peer, false);
    // our only outbound link is the one to our right: the token path changed
    if (pl.direction === 'outbound') this.sync.relinked();
  }

  private linkDown(pl: PeerLink): void {
    this.exchange.linkDown(pl);
    this.sync.relinked();
    this.checkAlone();
  }

  private becomeReady(why: string): void {
    if (this.ready) return;
    this.ready = true;
    this.o.log.info('ring: ready', { reason: why, users: this.state.users.size, hostsHash: this.state.hostsHash() });
    this.exchange.flushDeferred();
    this.wake();
  }

  private checkAlone(): void {
    if (!this.ready && this.links.alone && this.links.nobodyLeft) this.becomeReady('no other member reachable');
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.o.scheduler.now();
    this.state.users.expire(Math.floor(now / 1000));
    this.state.ledger.gc(now - this.o.tombstoneTtlMs);
    this.checkAlone();
    const left = this.links.nearestExtraLeft();
    if (left !== undefined) this.floodMember(left, false);
    this.housekeeping = this.o.scheduler.setTimeout(() => this.tick(), 1000);
  }
}
