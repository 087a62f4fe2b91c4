/**
 * Which flooded messages (origin, seq) this node has seen. Floods travel both ways round the ring,
 * so one origin's messages arrive out of order and twice; "seq <= highest seen" would drop a message
 * overtaken by a later one. A window of seen seqs per origin admits every first copy within it.
 *
 * Origins number their messages from their start time (see `initialSeq`), so a restarted node's
 * messages are new to its peers without a reset handshake.
 */
export const SEEN_WINDOW = 1 << 16;

export function initialSeq(startMs: number): number {
  // a thousand floods per ms of uptime before two incarnations could overlap; exact in a double
  return Math.floor(startMs) * 1000;
}

export class FloodDedup {
  private readonly origins = new Map<string, { high: number; seen: Set<number> }>();

  /** True the first time (origin, seq) is offered; false for a duplicate or one too old to tell. */
  accept(origin: string, seq: number): boolean {
    let o = this.origins.get(origin);
    if (!o) {
      o = { high: seq, seen: new Set([seq]) };
      this.origins.set(origin, o);
      return true;
    }
    if (seq <= o.high - SEEN_WINDOW || o.seen.has(seq)) return false;
    o.seen.add(seq);
    if (seq > o.high) {
      o.high = seq;
      if (o.seen.size > 2 * SEEN_WINDOW) {
        for (const s of o.seen) if (s <= o.high - SEEN_WINDOW) o.seen.delete(s);
      }
    }
    return true;
  }

  forget(origin: string): void {
    this.origins.delete(origin);
  }
}
