/**
 * Time for the ring, injected so tests run a whole ring in virtual time, deterministically: the
 * ring never calls Date.now() or setTimeout itself.
 */
export type Cancel = () => void;

export interface Scheduler {
  /** Unix time in milliseconds. */
  now(): number;
  /** Run `fn` once after `ms`; the returned function cancels it (a no-op once it ran). */
  setTimeout(fn: () => void, ms: number): Cancel;
}

/** Wall-clock time. Timers do not keep the process alive: the server owns the process lifetime. */
export class RealScheduler implements Scheduler {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  }
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
}

/**
 * Virtual time. Timers fire in (due time, creation order), so a run is a pure function of what
 * the test did. Between two instants, pending promise continuations run (a macrotask turn), so
 * async code inside the ring behaves as it would on a real event loop.
 */
export class SimScheduler implements Scheduler {
  private current: number;
  private seq = 0;
  private readonly heap: Timer[] = [];

  constructor(startMs = 1_800_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.push(timer);
    return () => {
      timer.fn = undefined;
    };
  }

  /** Timers not yet fired or cancelled (cancelled ones are dropped lazily, so this is an upper bound). */
  get pending(): number {
    return this.heap.length;
  }

  /** Advance virtual time by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    await this.runTo(this.current + ms);
  }

  /** Advance until `done()` holds (checked at every instant) or `limitMs` passed. Returns whether it held. */
  async advanceUntil(done: () => boolean, limitMs: number): Promise<boolean> {
    const end = this.current + limitMs;
    await settle();
    if (done()) return true;
    while (this.current < end) {
      const next = this.peekTime();
      await this.runTo(next === undefined ? end : Math.min(next, end));
      if (done()) return true;
    }
    return done();
  }

  private async runTo(end: number): Promise<void> {
    await settle();
    for (;;) {
      const at = this.peekTime();
      if (at === undefined || at > end) break;
      this.current = at;
      // everything due at this instant, including timers it schedules for "now"
      while (this.peekTime() === at) {
        const t = this.pop();
        const fn = t?.fn;
        if (t) t.fn = undefined;
        fn?.();
      }
      await settle();
    }
    this.current = Math.max(this.current, end);
  }

  private peekTime(): number | undefined {
    while (this.heap.length > 0 && (this.heap[0] as Timer).fn === undefined) this.pop();
    return this.heap[0]?.at;
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(t, h[p] as Timer)) break;
      h[i] = h[p] as Timer;
      i = p;
    }
    h[i] = t;
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r] as Timer, h[l] as Timer) ? r : l;
      if (!before(h[c] as Timer, last)) break;
      h[i] = h[c] as Timer;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Let every queued promise continuation run (one macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
