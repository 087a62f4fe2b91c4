import { RingError } from './errors.js';
import type { RingMessage } from './messages.js';
import type { RingLog } from './ring-options.js';
import type { Cancel, Scheduler } from './scheduler.js';

type SyncMessage = Extract<RingMessage, { kind: 'sync' }>;

export interface SyncRoundsOptions {
  readonly self: string;
  readonly scheduler: Scheduler;
  readonly firstSeq: number;
  readonly resendMs: number;
  readonly timeoutMs: number;
  readonly log: RingLog;
  readonly hostsHash: () => number;
  /** Send to our right neighbour; false when there is none. */
  readonly sendRight: (message: SyncMessage) => boolean;
  /** Nobody to agree with: a round completes at once. */
  readonly alone: () => boolean;
  /** Someone's host table differs from ours: flood all our host records. */
  readonly onHostsMismatch: () => void;
  /** A round of ours came back (or we are alone): every node saw what we did before `seq`. */
  readonly onRound: (seq: number) => void;
}

interface Waiter {
  readonly minSeq: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: Cancel;
}

/**
 * The sync token (Dovecot §5.7). We send (self, seq, hostsHash) to our right; each node forwards it
 * to its right after everything it received before, so when it comes back every node in the ring
 * has processed what we sent before it. A node whose hosts_hash differs floods its host records and
 * forwards its own hash, so the origin sees the mismatch and goes round again. One round in flight
 * per node; requests arriving meanwhile share the next round (no starvation under a stream of moves).
 */
export class SyncRounds {
  private readonly opts: SyncRoundsOptions;
  private lastSent: number;
  private inFlight: { seq: number; sentAt: number; resend: Cancel } | undefined;
  private queued = false;
  private waiters: Waiter[] = [];
  private readonly forwarded = new Map<string, number>();
  private lastRoundMs: number | undefined;

  constructor(opts: SyncRoundsOptions) {
    this.opts = opts;
    this.lastSent = opts.firstSeq;
  }

  /** The seq of the next round we will start: a round with seq >= this saw everything done until now. */
  get nextSeq(): number {
    return this.lastSent + 1;
  }

  get busy(): boolean {
    return this.inFlight !== undefined || this.queued;
  }

  get lagMs(): number | undefined {
    return this.inFlight ? this.opts.scheduler.now() - this.inFlight.sentAt : undefined;
  }

  get lastRoundDurationMs(): number | undefined {
    return this.lastRoundMs;
  }

  /** Resolves once a round started after this call completes; rejects after timeoutMs. */
  request(): Promise<void> {
    return new Promise((resolve, reject) => {
      const minSeq = this.nextSeq;
      const timer = this.opts.scheduler.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new RingError('SYNC_TIMEOUT', 'the ring did not confirm in time', { timeoutMs: this.opts.timeoutMs }));
      }, this.opts.timeoutMs);
      this.waiters.push({ minSeq, resolve, reject, timer });
      this.kick();
    });
  }

  /** Ask for a round without waiting for it (moves, host changes learned from peers). */
  want(): void {
    this.kick();
  }

  /** The ring shape changed: a token in flight may be lost, send a fresh one now. */
  relinked(): void {
    if (this.inFlight) this.start();
    else if (this.opts.alone()) this.completeAlone();
  }

  onToken(m: SyncMessage): void {
    if (m.origin === this.opts.self) {
      if (!this.inFlight || m.seq !== this.inFlight.seq) return;
      const { seq, sentAt, resend } = this.inFlight;
      resend();
      this.inFlight = undefined;
      if (m.hostsHash !== this.opts.hostsHash()) {
        this.opts.log.warn('ring: sync round saw different hosts, resending hosts', { seq, hostsHash: m.hostsHash });
        this.opts.onHostsMismatch();
        this.start();
        return;
      }
      this.lastRoundMs = this.opts.scheduler.now() - sentAt;
      this.complete(seq);
      return;
    }
    // a token seen twice never met its origin: the origin left the ring, so the token dies here
    if ((this.forwarded.get(m.origin) ?? -1) >= m.seq) return;
    this.forwarded.set(m.origin, m.seq);
    const mine = this.opts.hostsHash();
    if (m.hostsHash !== mine) this.opts.onHostsMismatch();
    this.opts.sendRight(m.hostsHash === mine ? m : { ...m, hostsHash: mine });
  }

  stop(): void {
    this.inFlight?.resend();
    this.inFlight = undefined;
    for (const w of this.waiters.splice(0)) {
      w.timer();
      w.reject(new RingError('NOT_RUNNING', 'ring node stopped'));
    }
  }

  private kick(): void {
    if (this.opts.alone()) {
      this.completeAlone();
      return;
    }
    if (this.inFlight) this.queued = true;
    else this.start();
  }

  private start(): void {
    this.inFlight?.resend();
    this.queued = false;
    const seq = ++this.lastSent;
    const sentAt = this.opts.scheduler.now();
    const resend = this.opts.scheduler.setTimeout(() => {
      if (this.inFlight?.seq !== seq) return;
      this.opts.log.warn('ring: sync token appears lost, resending', { seq });
      this.start();
    }, this.opts.resendMs);
    this.inFlight = { seq, sentAt, resend };
    if (this.opts.alone()) {
      this.completeAlone();
      return;
    }
    this.opts.sendRight({ kind: 'sync', origin: this.opts.self, seq, hostsHash: this.opts.hostsHash() });
  }

  private completeAlone(): void {
    this.inFlight?.resend();
    this.inFlight = undefined;
    this.queued = false;
    this.complete(++this.lastSent);
  }

  private complete(seq: number): void {
    const done = this.waiters.filter((w) => w.minSeq <= seq);
    this.waiters = this.waiters.filter((w) => w.minSeq > seq);
    this.opts.onRound(seq);
    for (const w of done) {
      w.timer();
      w.resolve();
    }
    if (this.queued) this.start();
  }
}
