import type { HostRecord, UserBatch } from '@usher/core';
import type { RingMessage } from './messages.js';
import type { RingLog } from './ring-options.js';
import type { Cancel, Scheduler } from './scheduler.js';
import { Topology } from './topology.js';
import type { RingLink, Transport } from './transport.js';

/** Where a link is in the digest exchange, and what a state transfer over it taught us so far. */
export interface ExchangeState {
  /** We sent a hello that was not an answer: the peer's next hello answers it. */
  expectAnswer: boolean;
  /** The peer's hello wants ours in return (held back while `deferred`). */
  helloOwed: boolean;
  /** Our hello waits until this node holds a full state (so it does not ask for everything twice). */
  deferred: boolean;
  /** We asked (sent a hello) and the peer's last state chunk has not arrived yet. */
  receiving: boolean;
  learnedRows: number;
  learnedOverflow: boolean;
  learned: UserBatch[];
  /** Moves among what we learned: the ring must kick them as the flood spreads them. */
  learnedKicks: { hash: number; exceptHost: string }[];
  /** Host records that won here: the rest of the ring may lack them too. */
  learnedHosts: HostRecord[];
}

/** One open link and what the ring keeps about it. */
export class PeerLink {
  readonly link: RingLink;
  readonly peer: string;
  readonly direction: 'inbound' | 'outbound';
  readonly upAt: number;
  lastHeardAt: number;
  rttMs: number | undefined;
  closed = false;
  /** This node closed the link on purpose (not a failure of the peer). */
  closing = false;
  /** Optional message kinds the peer announced in its hello (empty until then, and for older nodes). */
  features: ReadonlySet<string> = new Set();
  /** Anti-entropy bookkeeping (see anti-entropy.ts). */
  readonly exchange: ExchangeState = {
    expectAnswer: false,
    helloOwed: false,
    deferred: false,
    receiving: false,
    learnedRows: 0,
    learnedOverflow: false,
    learned: [],
    learnedKicks: [],
    learnedHosts: [],
  };
  pingTimer: Cancel | undefined;

  constructor(link: RingLink, now: number) {
    this.link = link;
    this.peer = link.peer;
    this.direction = link.direction;
    this.upAt = now;
    this.lastHeardAt = now;
  }

  send(message: RingMessage): boolean {
    return !this.closed && this.link.send(message);
  }

  /** Close on purpose: the peer did nothing wrong, so it is not marked failed. */
  close(reason: string): void {
    this.closing = true;
    this.link.close(reason);
  }
}

export interface PeerLinksOptions {
  readonly self: string;
  readonly members: readonly string[];
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly retryFailedMs: number;
  readonly log: RingLog;
  readonly onUp: (link: PeerLink) => void;
  readonly onDown: (link: PeerLink, reason: string) => void;
  readonly onMessage: (link: PeerLink, message: RingMessage) => void;
}

/**
 * The ring's connections (Dovecot §5.2): one outbound link to our right (the next live member in
 * director order), whatever inbound links others open to us, pings on each, and re-linking: around
 * a dead node, back to a recovered one, and to a newcomer between us and our right.
 */
export class PeerLinks {
  readonly topology: Topology;
  private readonly opts: PeerLinksOptions;
  private readonly open = new Set<PeerLink>();
  private rightLink: PeerLink | undefined;
  private connecting: string | undefined;
  private running = false;
  private maintenance: Cancel | undefined;

  constructor(opts: PeerLinksOptions) {
    this.opts = opts;
    this.topology = new Topology(opts.self, opts.members);
  }

  get right(): PeerLink | undefined {
    return this.rightLink;
  }

  get connectingTo(): string | undefined {
    return this.connecting;
  }

  /** Open links, oldest first. */
  links(): PeerLink[] {
    return [...this.open];
  }

  /** No link at all and no attempt in flight: nobody else to agree with. */
  get alone(): boolean {
    return this.open.size === 0 && this.connecting === undefined;
  }

  /** Every other member is failed or there are none: we looked and found nobody. */
  get nobodyLeft(): boolean {
    return this.topology.right(this.opts.scheduler.now()) === undefined;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.opts.transport.listen((link) => this.accept(link));
    this.ensureRight();
    this.tick();
  }

  stop(): void {
    this.running = false;
    this.maintenance?.();
    for (const pl of [...this.open]) pl.close('node stopping');
  }

  /** A member exists and may be up (learned from a peer): add it, forget its failure, re-check our right. */
  memberSeen(node: string): boolean {
    if (node === this.opts.self || this.topology.isRemoved(node)) return false;
    const added = this.topology.add(node);
    this.topology.clearFailure(node);
    this.ensureRight();
    return added;
  }

  memberRemoved(node: string): void {
    if (!this.topology.remove(node)) return;
    for (const pl of [...this.open]) if (pl.peer === node) pl.close('member removed');
    this.ensureRight();
  }

  /** Make our outbound link go to the right member, connecting or re-connecting as needed. */
  ensureRight(): void {
    if (!this.running) return;
    const now = this.opts.scheduler.now();
    const desired = this.topology.right(now);
    if (this.rightLink && this.rightLink.peer === desired) return;
    if (desired === undefined) {
      this.rightLink?.close('no right neighbour');
      return;
    }
    if (this.connecting !== undefined) return;
    this.connecting = desired;
    this.opts.transport.connect(desired).then(
      (link) => this.connected(desired, link),
      (e: unknown) => {
        this.connecting = undefined;
        if (!this.running) return;
        const now = this.opts.scheduler.now();
        if (this.rightLink) this.topology.markFailed(desired, now + this.opts.retryFailedMs);
        else this.topology.markFailedInWalk(desired, now + this.opts.retryFailedMs, now);
        this.opts.log.warn('ring: cannot connect to right neighbour', { peer: desired, error: String(e) });
        this.ensureRight();
      },
    );
  }

  private connected(desired: string, link: RingLink): void {
    this.connecting = undefined;
    if (!this.running) {
      link.close('node stopping');
      return;
    }
    if (this.topology.right(this.opts.scheduler.now()) !== desired) {
      link.close('not our right neighbour any more');
      this.ensureRight();
      return;
    }
    const old = this.rightLink;
    this.rightLink = this.adopt(link);
    old?.close('replaced by a closer right neighbour');
  }

  private accept(link: RingLink): void {
    if (!this.running || this.topology.isRemoved(link.peer) || link.peer === this.opts.self) {
      link.close('not a ring member');
      return;
    }
    this.topology.add(link.peer);
    this.topology.clearFailure(link.peer);
    this.adopt(link);
    // a newcomer between us and our right becomes our right
    this.ensureRight();
  }

  private adopt(link: RingLink): PeerLink {
    const pl = new PeerLink(link, this.opts.scheduler.now());
    this.open.add(pl);
    link.onMessage((m) => this.receive(pl, m));
    link.onClose((reason) => this.closed(pl, reason));
    this.schedulePing(pl);
    this.opts.onUp(pl);
    return pl;
  }

  private receive(pl: PeerLink, m: RingMessage): void {
    if (pl.closed) return;
    const now = this.opts.scheduler.now();
    pl.lastHeardAt = now;
    if (m.kind === 'ping') {
      pl.send({ kind: 'pong', sentMs: m.sentMs });
      return;
    }
    if (m.kind === 'pong') {
      pl.rttMs = now - m.sentMs;
      return;
    }
    this.opts.onMessage(pl, m);
  }

  private closed(pl: PeerLink, reason: string): void {
    if (pl.closed) return;
    pl.closed = true;
    pl.pingTimer?.();
    this.open.delete(pl);
    const now = this.opts.scheduler.now();
    // a link to our right that failed soon after it opened, or any link gone silent, would fail again:
    // skip its peer a while. Not a link closed on purpose, by us or (inbound) by its owner re-pointing
    // its right: such marks made neighbours re-point their own rights in turn, and a ring whose nodes
    // joined within a ping interval of each other re-linked forever.
    const failedEarly = pl.direction === 'outbound' && !pl.closing && now - pl.upAt < this.opts.pingIntervalMs;
    if (reason === 'ping timeout' || failedEarly) {
      this.topology.markFailed(pl.peer, now + this.opts.retryFailedMs);
    }
    if (this.rightLink === pl) this.rightLink = undefined;
    this.opts.log.info('ring: link closed', { peer: pl.peer, direction: pl.direction, reason });
    this.opts.onDown(pl, reason);
    this.ensureRight();
  }

  private schedulePing(pl: PeerLink): void {
    pl.pingTimer = this.opts.scheduler.setTimeout(() => {
      if (pl.closed) return;
      const now = this.opts.scheduler.now();
      if (now - pl.lastHeardAt > this.opts.pingTimeoutMs) {
        pl.link.close('ping timeout');
        this.closed(pl, 'ping timeout');
        return;
      }
      pl.send({ kind: 'ping', sentMs: now });
      this.schedulePing(pl);
    }, this.opts.pingIntervalMs);
  }

  /** Periodic re-check: expired failure marks bring back a closer right (Dovecot retries the preferred right). */
  private tick(): void {
    if (!this.running) return;
    this.ensureRight();
    this.maintenance = this.opts.scheduler.setTimeout(() => this.tick(), this.opts.pingIntervalMs);
  }

  /**
   * When several members link to us from the left, the farther ones skipped the nearer one. Returns
   * the nearest, which the node then announces so the others re-link to it.
   */
  nearestExtraLeft(): string | undefined {
    const lefts = new Set<string>();
    for (const pl of this.open) if (pl.direction === 'inbound') lefts.add(pl.peer);
    if (lefts.size < 2) return undefined;
    let best: string | undefined;
    for (const p of lefts)
      if (best === undefined || this.topology.stepsLeft(p) < this.topology.stepsLeft(best)) best = p;
    return best;
  }
}
