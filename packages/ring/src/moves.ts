import { RingError } from './errors.js';
import type { RingLog } from './ring-options.js';
import type { Cancel, Scheduler } from './scheduler.js';
import type { SyncRounds } from './sync.js';

interface Move {
  /** The first sync round that confirms every node has kicked. */
  minSeq: number;
  phase: 'sync' | 'delay';
  timer: Cancel;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export interface MoveTrackerOptions {
  readonly scheduler: Scheduler;
  readonly sync: SyncRounds;
  readonly kickDelayMs: number;
  readonly timeoutMs: number;
  readonly log: RingLog;
  /** A move finished: logins waiting for it may go on. */
  readonly onFinished: () => void;
}

/**
 * Users whose sessions are being kicked ring-wide (moves, conflict repair): Dovecot's kill states
 * folded into two phases. Every node that learns of a kick marks the user hash, kicks locally and
 * waits for one of its own sync rounds started afterwards (then every node has kicked too), then
 * user_kick_delay more; meanwhile logins of that hash wait. A move that cannot be confirmed ends
 * after the timeout, as Dovecot's does ("its state may now be inconsistent").
 */
export class MoveTracker {
  private readonly opts: MoveTrackerOptions;
  private readonly moves = new Map<number, Move>();

  constructor(opts: MoveTrackerOptions) {
    this.opts = opts;
  }

  get size(): number {
    return this.moves.size;
  }

  isMoving(hash: number): boolean {
    return this.moves.has(hash);
  }

  /**
   * Marks the hash as kicked now; resolves when the move is over here, rejects (SYNC_TIMEOUT) when
   * the ring could not confirm it. A repeated kick restarts the wait.
   */
  begin(hash: number): Promise<void> {
    const minSeq = this.opts.sync.nextSeq;
    const existing = this.moves.get(hash);
    if (existing) {
      existing.timer();
      existing.minSeq = minSeq;
      existing.phase = 'sync';
      existing.timer = this.timeout(hash);
      this.opts.sync.want();
      return existing.done;
    }
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // internal kicks do not wait on the promise: keep an unobserved rejection from surfacing
    done.catch(() => {});
    this.moves.set(hash, { minSeq, phase: 'sync', timer: this.timeout(hash), done, resolve, reject });
    this.opts.sync.want();
    return done;
  }

  /** One of our rounds came back: moves it covers go to their kick delay. */
  onRound(seq: number): void {
    for (const [hash, m] of this.moves) {
      if (m.phase !== 'sync' || m.minSeq > seq) continue;
      m.timer();
      m.phase = 'delay';
      m.timer = this.opts.scheduler.setTimeout(() => this.finish(hash), this.opts.kickDelayMs);
    }
  }

  stop(): void {
    for (const hash of [...this.moves.keys()]) this.finish(hash, new RingError('NOT_RUNNING', 'ring node stopped'));
  }

  private timeout(hash: number): Cancel {
    return this.opts.scheduler.setTimeout(() => {
      this.opts.log.warn('ring: finishing user move timed out, its state may now be inconsistent', { userHash: hash });
      this.finish(hash, new RingError('SYNC_TIMEOUT', 'the ring did not confirm the move in time', { userHash: hash }));
    }, this.opts.timeoutMs);
  }

  private finish(hash: number, error?: Error): void {
    const m = this.moves.get(hash);
    if (!m) return;
    m.timer();
    this.moves.delete(hash);
    if (error) m.reject(error);
    else m.resolve();
    this.opts.onFinished();
  }
}
