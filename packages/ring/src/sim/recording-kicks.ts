import type { KickSink } from '../ring-options.js';

export interface KickRecord {
  readonly atMs: number;
  readonly userHash?: number;
  readonly exceptBackend?: string;
  readonly username?: string;
}

/** A KickSink that remembers what it was asked, and tells a listener (the invariant checker). */
export class RecordingKicks implements KickSink {
  readonly kicks: KickRecord[] = [];
  private readonly now: () => number;
  private readonly listener: ((k: KickRecord) => void) | undefined;

  constructor(now: () => number, listener?: (k: KickRecord) => void) {
    this.now = now;
    this.listener = listener;
  }

  kickHash(userHash: number, exceptBackend?: string): void {
    const k: KickRecord =
      exceptBackend === undefined ? { atMs: this.now(), userHash } : { atMs: this.now(), userHash, exceptBackend };
    this.kicks.push(k);
    this.listener?.(k);
  }

  kickUser(username: string): void {
    const k = { atMs: this.now(), username };
    this.kicks.push(k);
    this.listener?.(k);
  }

  kickedHash(userHash: number): KickRecord[] {
    return this.kicks.filter((k) => k.userHash === userHash);
  }
}
