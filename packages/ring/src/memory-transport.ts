import { MemoryTransportError } from './errors.js';
import type { RingMessage } from './messages.js';
import type { Scheduler } from './scheduler.js';
import type { RingLink, Transport } from './transport.js';

/**
 * An in-memory network of ring nodes with faults, for deterministic tests and benches (memberlist's
 * in-memory transport idea). Links keep the RingLink contract (ordered, reliable until closed): a
 * lost message breaks its link, as a real stream fails rather than dropping silently; a partition
 * stalls links (as TCP retransmits) until healed or closed by the ring's ping timeout. Messages are
 * handed over by reference: senders and receivers must treat them as immutable.
 */
export interface MemoryNetworkOptions {
  readonly scheduler: Scheduler;
  /** Seeds jitter and loss. */
  readonly seed?: number;
  /** One-way delay of a message or a connect (ms). Default 1. */
  readonly delayMs?: number;
  /** Extra random delay 0..jitterMs per message; links stay FIFO, different links interleave. Default 0. */
  readonly jitterMs?: number;
  /** How long a connect to an unreachable node takes to fail. Default 1000. */
  readonly connectTimeoutMs?: number;
}

export interface NodeTraffic {
  messages: number;
  /** User rows received in `state` and `update` messages. */
  users: number;
  /** Rough bytes received (packed columns as the wire would carry them). */
  bytes: number;
  readonly byKind: Record<string, number>;
}

interface Flight {
  readonly message: RingMessage;
  readonly at: number;
  readonly bytes: number;
}

export class MemoryNetwork {
  readonly scheduler: Scheduler;
  readonly connectTimeoutMs: number;
  private readonly delayMs: number;
  private readonly jitterMs: number;
  private readonly rand: () => number;
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly silent = new Set<string>();
  private readonly delays = new Map<string, { delayMs: number; jitterMs: number }>();
  private readonly live = new Set<MemoryLinkEnd>();
  private groups: string[][] = [];
  private loss = 0;
  readonly traffic = new Map<string, NodeTraffic>();

  constructor(opts: MemoryNetworkOptions) {
    this.scheduler = opts.scheduler;
    this.delayMs = opts.delayMs ?? 1;
    this.jitterMs = opts.jitterMs ?? 0;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
    this.rand = mulberry32(opts.seed ?? 1);
  }

  /** The transport of `node`. Calling it again (a restart) resets the links of the old incarnation. */
  transport(node: string): MemoryTransport {
    const old = this.nodes.get(node);
    if (old) old.closeNow('peer restarted');
    // the restarted machine answers packets of its old connections with resets
    for (const end of old?.orphans ?? []) end.reset('connection reset by restarted peer');
    this.silent.delete(node);
    const t = new MemoryTransport(this, node);
    this.nodes.set(node, t);
    return t;
  }

  /** Nodes in different groups cannot reach each other; nodes in no group reach everyone. */
  partition(...groups: string[][]): void {
    this.groups = groups.map((g) => [...g]);
  }

  heal(): void {
    this.groups = [];
    for (const end of this.live) end.pump();
  }

  reachable(a: string, b: string): boolean {
    if (this.silent.has(a) || this.silent.has(b)) return false;
    const ga = this.groups.findIndex((g) => g.includes(a));
    const gb = this.groups.findIndex((g) => g.includes(b));
    return ga < 0 || gb < 0 || ga === gb;
  }

  /** Delay between two nodes, both ways. */
  setDelay(a: string, b: string, delayMs: number, jitterMs = 0): void {
    this.delays.set(pairKey(a, b), { delayMs, jitterMs });
  }

  /** Probability that a sent message breaks its link instead of arriving. */
  setLoss(probability: number): void {
    this.loss = probability;
  }

  /**
   * The node dies and its state with it. `silent`: the machine vanishes (peers notice by ping
   * timeout); otherwise the process dies and the OS resets its connections at once.
   */
  crash(node: string, opts: { silent?: boolean } = {}): void {
    const t = this.nodes.get(node);
    if (opts.silent) {
      // kept, so a restart can reset the links the dead incarnation left behind
      this.silent.add(node);
      t?.detach();
    } else {
      t?.closeNow('connection reset');
      this.nodes.delete(node);
    }
  }

  trafficOf(node: string): NodeTraffic {
    let t = this.traffic.get(node);
    if (!t) {
      t = { messages: 0, users: 0, bytes: 0, byKind: {} };
      this.traffic.set(node, t);
    }
    return t;
  }

  resetTraffic(): void {
    this.traffic.clear();
  }

  /** @internal */
  open(from: MemoryTransport, peer: string): Promise<RingLink> {
    return new Promise((resolve, reject) => {
      const fail = (code: 'CONNECT_TIMEOUT' | 'REFUSED', after: number) =>
        this.scheduler.setTimeout(
          () => reject(new MemoryTransportError(code, `cannot connect to ${peer}`, { from: from.self, peer })),
          after,
        );
      if (!this.reachable(from.self, peer)) {
        fail('CONNECT_TIMEOUT', this.connectTimeoutMs);
        return;
      }
      const { delayMs } = this.delayOf(from.self, peer);
      this.scheduler.setTimeout(() => {
        const target = this.nodes.get(peer);
        if (from.closed || !this.reachable(from.self, peer)) {
          fail('CONNECT_TIMEOUT', this.connectTimeoutMs - delayMs);
          return;
        }
        if (!target?.accepting) {
          fail('REFUSED', delayMs);
          return;
        }
        const out = new MemoryLinkEnd(this, from, peer, 'outbound');
        const inb = new MemoryLinkEnd(this, target, from.self, 'inbound');
        out.other = inb;
        inb.other = out;
        this.live.add(out);
        this.live.add(inb);
        from.ends.add(out);
        target.ends.add(inb);
        target.accept(inb);
        resolve(out);
      }, 2 * delayMs);
    });
  }

  /** @internal */
  schedule(from: string, to: string, lastAt: number): number {
    const { delayMs, jitterMs } = this.delayOf(from, to);
    const at = this.scheduler.now() + delayMs + (jitterMs > 0 ? Math.floor(this.rand() * (jitterMs + 1)) : 0);
    return Math.max(at, lastAt);
  }

  /** @internal */
  loses(): boolean {
    return this.loss > 0 && this.rand() < this.loss;
  }

  /** @internal */
  forget(end: MemoryLinkEnd): void {
    this.live.delete(end);
  }

  private delayOf(a: string, b: string): { delayMs: number; jitterMs: number } {
    return this.delays.get(pairKey(a, b)) ?? { delayMs: this.delayMs, jitterMs: this.jitterMs };
  }
}

export class MemoryTransport implements Transport {
  readonly self: string;
  readonly ends = new Set<MemoryLinkEnd>();
  closed = false;
  private readonly net: MemoryNetwork;
  private onLink: ((link: RingLink) => void) | undefined;

  constructor(net: MemoryNetwork, self: string) {
    this.net = net;
    this.self = self;
  }

  get accepting(): boolean {
    return !this.closed && this.onLink !== undefined;
  }

  async listen(onLink: (link: RingLink) => void): Promise<void> {
    if (this.closed) throw new MemoryTransportError('CLOSED', 'transport closed', { node: this.self });
    this.onLink = onLink;
  }

  connect(peer: string): Promise<RingLink> {
    if (this.closed) return Promise.reject(new MemoryTransportError('CLOSED', 'transport closed', { node: this.self }));
    return this.net.open(this, peer);
  }

  async close(): Promise<void> {
    this.closeNow('transport closed');
  }

  /** @internal */
  accept(link: MemoryLinkEnd): void {
    this.onLink?.(link);
  }

  /** @internal */
  closeNow(reason: string): void {
    this.closed = true;
    this.onLink = undefined;
    for (const end of [...this.ends]) end.close(reason);
  }

  /** Peer ends of links this incarnation had when it vanished. */
  orphans: MemoryLinkEnd[] = [];

  /** @internal A silent crash: nothing more is delivered to or from this incarnation. */
  detach(): void {
    this.closed = true;
    this.onLink = undefined;
    for (const end of this.ends) {
      end.mute();
      if (end.other) this.orphans.push(end.other);
    }
  }
}

export class MemoryLinkEnd implements RingLink {
  readonly peer: string;
  readonly direction: 'inbound' | 'outbound';
  other: MemoryLinkEnd | undefined;
  private readonly net: MemoryNetwork;
  private readonly owner: MemoryTransport;
  private readonly outbox: Flight[] = [];
  private readonly early: RingMessage[] = [];
  private lastAt = 0;
  private pumping = false;
  private closed = false;
  private muted = false;
  private queuedBytes = 0;
  private messageHandler: ((m: RingMessage) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private closeReason: string | undefined;

  constructor(net: MemoryNetwork, owner: MemoryTransport, peer: string, direction: 'inbound' | 'outbound') {
    this.net = net;
    this.owner = owner;
    this.peer = peer;
    this.direction = direction;
  }

  get buffered(): number {
    return this.queuedBytes;
  }

  send(message: RingMessage): boolean {
    if (this.closed) return false;
    if (this.muted) return true;
    if (this.net.loses()) {
      const at = this.net.schedule(this.owner.self, this.peer, this.lastAt);
      this.net.scheduler.setTimeout(() => this.close('connection reset (message lost)'), at - this.net.scheduler.now());
      return true;
    }
    const bytes = estimateBytes(message);
    this.lastAt = this.net.schedule(this.owner.self, this.peer, this.lastAt);
    this.outbox.push({ message, at: this.lastAt, bytes });
    this.queuedBytes += bytes;
    this.pump();
    return true;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.finish(reason);
    // a vanished machine sends no FIN: its peers find out by themselves
    if (!this.muted) this.other?.finishLater(reason, this.net.schedule(this.owner.self, this.peer, this.lastAt));
  }

  /** @internal The other side is gone for good (its machine restarted). */
  reset(reason: string): void {
    this.finish(reason);
  }

  onMessage(handler: (message: RingMessage) => void): void {
    this.messageHandler = handler;
    for (const m of this.early.splice(0)) if (!this.closed) handler(m);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closeReason !== undefined) {
      const reason = this.closeReason;
      this.net.scheduler.setTimeout(() => handler(reason), 0);
    }
  }

  /** @internal Deliver due messages in order; stops while the peers are cut apart. */
  pump(): void {
    if (this.pumping || this.closed || this.muted) return;
    const head = this.outbox[0];
    if (!head) return;
    this.pumping = true;
    this.net.scheduler.setTimeout(
      () => {
        this.pumping = false;
        if (this.closed || this.muted) return;
        if (!this.net.reachable(this.owner.self, this.peer)) return;
        const flight = this.outbox.shift();
        if (!flight) return;
        this.queuedBytes -= flight.bytes;
        this.other?.receive(flight);
        this.pump();
      },
      Math.max(0, head.at - this.net.scheduler.now()),
    );
  }

  /** @internal */
  mute(): void {
    this.muted = true;
    this.outbox.length = 0;
    this.queuedBytes = 0;
  }

  private receive(flight: Flight): void {
    if (this.closed || this.muted) return;
    const traffic = this.net.trafficOf(this.owner.self);
    const m = flight.message;
    traffic.messages++;
    traffic.bytes += flight.bytes;
    traffic.byKind[m.kind] = (traffic.byKind[m.kind] ?? 0) + 1;
    if (m.kind === 'state' || m.kind === 'update') traffic.users += m.users.hashes.length;
    if (this.messageHandler) this.messageHandler(m);
    else this.early.push(m);
  }

  private finishLater(reason: string, at: number): void {
    this.net.scheduler.setTimeout(() => this.finish(reason), Math.max(0, at - this.net.scheduler.now()));
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.outbox.length = 0;
    this.queuedBytes = 0;
    this.owner.ends.delete(this);
    this.net.forget(this);
    const handler = this.closeHandler;
    if (handler) this.net.scheduler.setTimeout(() => handler(reason), 0);
  }
}

/** Rough wire size: what the packed columns and fields would take. */
export function estimateBytes(m: RingMessage): number {
  switch (m.kind) {
    case 'hello':
      return 32 + m.bucketDigests.byteLength + m.members.length * 24;
    case 'state':
      return 32 + m.hosts.length * 64 + m.users.hashes.length * 20 + m.buckets.length * 2;
    case 'update':
      return 48 + m.hosts.length * 64 + m.users.hashes.length * 20 + m.kicks.length * 24 + m.kickUsers.length * 32;
    default:
      return 32;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Small seeded PRNG: same seed, same faults. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
