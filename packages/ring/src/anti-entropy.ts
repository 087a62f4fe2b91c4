import {
  BUCKET_COUNT,
  bucketOf,
  type ClusterState,
  differingBuckets,
  emptyUserBatch,
  type HostRecord,
  type UserBatch,
  type UserMergeResult,
} from '@usher/core';
import { RING_FEATURES, type RingMessage } from './messages.js';
import type { PeerLink } from './peer-links.js';
import { RING_PROTOCOL } from './ring-options.js';
import type { Scheduler } from './scheduler.js';

type Hello = Extract<RingMessage, { kind: 'hello' }>;
type State = Extract<RingMessage, { kind: 'state' }>;

export interface AntiEntropyOptions {
  readonly self: string;
  readonly state: ClusterState;
  readonly scheduler: Scheduler;
  readonly chunkUsers: number;
  readonly floodLearnedMax: number;
  readonly members: () => string[];
  readonly links: () => PeerLink[];
  readonly isReady: () => boolean;
  readonly becameReady: () => void;
  readonly memberSeen: (node: string) => void;
  /** Returns the records that won here. */
  readonly applyHosts: (records: readonly HostRecord[], wholeTable: boolean) => HostRecord[];
  readonly applyUsers: (batch: UserBatch, collectLearned: number) => UserMergeResult;
  /**
   * Few users learned from one peer: flood them to the rest of the ring (not back to `source`),
   * with kicks for the moves among them (made where we could not see them, e.g. across a partition).
   */
  readonly floodLearned: (
    learned: {
      readonly hosts: HostRecord[];
      readonly users: UserBatch[];
      readonly kicks: { hash: number; exceptHost: string }[];
    },
    source: PeerLink,
  ) => void;
}

/**
 * Digest exchange and state transfer over one link. On link up both sides send `hello` with their
 * bucket digests; each answers a hello with `state`: all host records, and its users of the
 * buckets that differ (and that it has any of), in chunks. An empty node thus receives everything,
 * a reconnecting one almost nothing. A hello that is not itself an answer gets ours back, so either
 * side can re-open the comparison later (`compare`) and both directions get repaired.
 *
 * What a transfer taught us reaches the rest of the ring too: a few users are flooded on; many
 * (a healed partition) make us compare digests with our other neighbours instead, hop by hop.
 */
export class AntiEntropy {
  private readonly o: AntiEntropyOptions;

  constructor(opts: AntiEntropyOptions) {
    this.o = opts;
  }

  linkUp(pl: PeerLink): void {
    // an empty node that is already receiving a full state asks its second neighbour later,
    // with full digests, instead of receiving everything twice
    if (!this.o.isReady() && this.o.links().some((l) => l !== pl && l.exchange.receiving)) {
      pl.exchange.deferred = true;
      return;
    }
    this.sendHello(pl);
  }

  linkDown(pl: PeerLink): void {
    if (pl.exchange.receiving && !this.o.links().some((l) => l.exchange.receiving)) this.flushDeferred();
  }

  /** Ask the peer to compare digests again. */
  compare(pl: PeerLink): void {
    if (!pl.exchange.deferred) this.sendHello(pl);
  }

  /** Send the hellos held back while this node was filling up. */
  flushDeferred(): void {
    for (const pl of this.o.links()) if (pl.exchange.deferred) this.sendHello(pl);
  }

  onHello(pl: PeerLink, m: Hello): void {
    if (m.protocol !== RING_PROTOCOL) {
      pl.link.close(`ring protocol ${m.protocol} not supported (we speak ${RING_PROTOCOL})`);
      return;
    }
    pl.features = new Set(m.features ?? []);
    for (const node of m.members) this.o.memberSeen(node);
    this.sendState(pl, m.bucketDigests);
    const ex = pl.exchange;
    if (ex.expectAnswer) {
      ex.expectAnswer = false;
      return;
    }
    ex.helloOwed = true;
    if (!ex.deferred) this.sendHello(pl);
  }

  onState(pl: PeerLink, m: State): void {
    const ex = pl.exchange;
    if (m.hosts.length > 0) ex.learnedHosts.push(...this.o.applyHosts(m.hosts, true));
    const room = Math.max(0, this.o.floodLearnedMax - ex.learnedRows);
    const r = this.o.applyUsers(m.users, ex.learnedOverflow ? 0 : room);
    ex.learnedRows += r.changed;
    if (r.learnedOverflow) ex.learnedOverflow = true;
    else if (r.learned && r.learned.hashes.length > 0) ex.learned.push(r.learned);
    for (const hc of r.hostChanges) ex.learnedKicks.push({ hash: hc.hash, exceptHost: hc.toIp });
    if (!m.last) return;
    const users = ex.learned;
    const kicks = ex.learnedKicks;
    const hosts = ex.learnedHosts;
    const overflow = ex.learnedOverflow;
    ex.receiving = false;
    ex.learned = [];
    ex.learnedKicks = [];
    ex.learnedHosts = [];
    ex.learnedRows = 0;
    ex.learnedOverflow = false;
    const wasReady = this.o.isReady();
    if (!wasReady) this.o.becameReady();
    if (overflow) {
      for (const other of this.o.links()) {
        if (other !== pl && !other.exchange.receiving && !other.exchange.deferred) this.sendHello(other);
      }
    }
    // a node that just filled up learned what its neighbours already hold: nothing to spread
    const spread = { hosts: wasReady ? hosts : [], users: overflow ? [] : users, kicks: overflow ? [] : kicks };
    if (spread.hosts.length > 0 || spread.users.length > 0 || spread.kicks.length > 0) this.o.floodLearned(spread, pl);
  }

  private sendHello(pl: PeerLink): void {
    const ex = pl.exchange;
    if (!ex.helloOwed) ex.expectAnswer = true;
    ex.helloOwed = false;
    ex.deferred = false;
    // every hello is answered with a state
    ex.receiving = true;
    pl.send({
      kind: 'hello',
      from: this.o.self,
      protocol: RING_PROTOCOL,
      members: this.o.members(),
      hostsHash: this.o.state.hostsHash(),
      bucketDigests: this.o.state.digests(this.nowSecs()),
      features: RING_FEATURES,
    });
  }

  private sendState(pl: PeerLink, theirs: Uint32Array): void {
    const now = this.nowSecs();
    const mine = this.o.state.digests(now);
    const mask = differingBuckets(mine, theirs);
    const buckets: number[] = [];
    for (let b = 0; b < BUCKET_COUNT; b++) {
      // a bucket we hold nothing of has nothing to give
      if (mask[b] === 1 && mine[b] !== 0) buckets.push(b);
      else mask[b] = 0;
    }
    const chunks =
      buckets.length === 0 ? [] : this.o.state.users.packChunks(now, this.o.chunkUsers, (h) => mask[bucketOf(h)] === 1);
    const hosts = this.o.state.ledger.list();
    if (chunks.length === 0) {
      pl.send({ kind: 'state', hosts, users: emptyUserBatch(), buckets, last: true });
      return;
    }
    chunks.forEach((users, i) => {
      pl.send({
        kind: 'state',
        hosts: i === 0 ? hosts : [],
        users,
        buckets: i === 0 ? buckets : [],
        last: i === chunks.length - 1,
      });
    });
  }

  private nowSecs(): number {
    return Math.floor(this.o.scheduler.now() / 1000);
  }
}
