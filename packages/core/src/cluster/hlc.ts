/**
 * Hybrid logical clock (Kulkarni et al.): versions that follow wall time closely but never go
 * backwards and always exceed every version this node has seen, so "last writer wins" picks the
 * same winner on every node even when wall clocks disagree a little. Pure: wall time comes in.
 */

/** Same shape as the ring's wire `Hlc` (ring/src/messages.ts), so values pass through unchanged. */
export interface Hlc {
  readonly ms: number;
  readonly counter: number;
  /** The writer's node id: the last tie-breaker, so every node orders versions alike. */
  readonly node: string;
}

/** Version of state that came from configuration, not from a runtime change: loses to any change. */
export const BOOTSTRAP_MS = 0;

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

export function bootstrapHlc(node: string): Hlc {
  return { ms: BOOTSTRAP_MS, counter: 0, node };
}

export class HlcClock {
  readonly node: string;
  private ms = BOOTSTRAP_MS;
  private counter = 0;

  constructor(node: string) {
    this.node = node;
  }

  /** The latest version this clock has issued or seen. */
  get last(): Hlc {
    return { ms: this.ms, counter: this.counter, node: this.node };
  }

  /** A new version for a local change (or a send), greater than anything issued or seen so far. */
  tick(wallMs: number): Hlc {
    const wall = Math.floor(wallMs);
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else {
      this.counter++;
    }
    return { ms: this.ms, counter: this.counter, node: this.node };
  }

  /** Take a received version into account, so our next tick orders after it. */
  observe(remote: Hlc, wallMs: number): void {
    const wall = Math.floor(wallMs);
    const top = Math.max(this.ms, remote.ms, wall);
    if (top === this.ms && top === remote.ms) this.counter = Math.max(this.counter, remote.counter);
    else if (top === remote.ms) this.counter = remote.counter;
    else if (top !== this.ms) this.counter = 0;
    this.ms = top;
  }
}
