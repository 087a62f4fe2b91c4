import { ClusterStateError } from './cluster-errors.js';

/**
 * User assignments, column-wise: row i is (tags[tagIndex[i]], hashes[i]) -> hostIps[hostIndex[i]],
 * refreshed at timestamps[i] (unix seconds), made at epochMs[i] (0 = by placement, otherwise the HLC
 * wall time of the move or flush that made it). Same shape as the ring's wire `UserBatch`
 * (ring/src/messages.ts): a million users are a handful of buffers, not a million objects.
 * Tags and hosts travel by name (IP text) because tag ids and host ids are local to each node.
 */
export interface UserBatch {
  readonly tags: readonly string[];
  readonly hostIps: readonly string[];
  readonly tagIndex: Uint16Array;
  readonly hashes: Uint32Array;
  readonly hostIndex: Uint16Array;
  readonly timestamps: Uint32Array;
  readonly epochMs: Float64Array;
}

const MAX_DICTIONARY = 0x10000;

export function emptyUserBatch(): UserBatch {
  return {
    tags: [],
    hostIps: [],
    tagIndex: new Uint16Array(0),
    hashes: new Uint32Array(0),
    hostIndex: new Uint16Array(0),
    timestamps: new Uint32Array(0),
    epochMs: new Float64Array(0),
  };
}

/** Rows in a batch, after checking every column has the same length. */
export function batchRows(batch: UserBatch): number {
  const n = batch.hashes.length;
  if (
    batch.tagIndex.length !== n ||
    batch.hostIndex.length !== n ||
    batch.timestamps.length !== n ||
    batch.epochMs.length !== n
  ) {
    throw new ClusterStateError('BAD_USER_BATCH', 'user batch columns differ in length', {
      hashes: n,
      tagIndex: batch.tagIndex.length,
      hostIndex: batch.hostIndex.length,
      timestamps: batch.timestamps.length,
      epochMs: batch.epochMs.length,
    });
  }
  return n;
}

/**
 * Builds a UserBatch row by row into growing typed arrays. Tag and host names are interned once per
 * batch; callers that add many rows for the same small tag/host ids (packing a directory) pass the
 * interned index straight away through `addIndexed`.
 */
export class UserBatchBuilder {
  private readonly tagNames: string[] = [];
  private readonly hostNames: string[] = [];
  private readonly tagDict = new Map<string, number>();
  private readonly hostDict = new Map<string, number>();
  private n = 0;
  private tagIndex: Uint16Array;
  private hashes: Uint32Array;
  private hostIndex: Uint16Array;
  private timestamps: Uint32Array;
  private epochMs: Float64Array;

  constructor(initialRows = 64) {
    const cap = Math.max(1, initialRows);
    this.tagIndex = new Uint16Array(cap);
    this.hashes = new Uint32Array(cap);
    this.hostIndex = new Uint16Array(cap);
    this.timestamps = new Uint32Array(cap);
    this.epochMs = new Float64Array(cap);
  }

  get rows(): number {
    return this.n;
  }

  tagIndexOf(tag: string): number {
    return intern(tag, this.tagDict, this.tagNames, 'tags');
  }

  hostIndexOf(ip: string): number {
    return intern(ip, this.hostDict, this.hostNames, 'hosts');
  }

  add(tag: string, hash: number, hostIp: string, timestamp: number, epochMs: number): void {
    this.addIndexed(this.tagIndexOf(tag), hash, this.hostIndexOf(hostIp), timestamp, epochMs);
  }

  addIndexed(tagIndex: number, hash: number, hostIndex: number, timestamp: number, epochMs: number): void {
    if (this.n === this.hashes.length) this.grow();
    const i = this.n++;
    this.tagIndex[i] = tagIndex;
    this.hashes[i] = hash;
    this.hostIndex[i] = hostIndex;
    this.timestamps[i] = timestamp;
    this.epochMs[i] = epochMs;
  }

  /** The rows so far, in exactly-sized arrays. The builder can keep going afterwards. */
  build(): UserBatch {
    const n = this.n;
    return {
      tags: [...this.tagNames],
      hostIps: [...this.hostNames],
      tagIndex: this.tagIndex.slice(0, n),
      hashes: this.hashes.slice(0, n),
      hostIndex: this.hostIndex.slice(0, n),
      timestamps: this.timestamps.slice(0, n),
      epochMs: this.epochMs.slice(0, n),
    };
  }

  private grow(): void {
    const cap = this.hashes.length * 2;
    this.tagIndex = grown(this.tagIndex, new Uint16Array(cap));
    this.hashes = grown(this.hashes, new Uint32Array(cap));
    this.hostIndex = grown(this.hostIndex, new Uint16Array(cap));
    this.timestamps = grown(this.timestamps, new Uint32Array(cap));
    this.epochMs = grown(this.epochMs, new Float64Array(cap));
  }
}

function grown<T extends Uint16Array | Uint32Array | Float64Array>(old: T, next: T): T {
  next.set(old as never);
  return next;
}

function intern(name: string, dict: Map<string, number>, names: string[], what: string): number {
  let i = dict.get(name);
  if (i === undefined) {
    i = names.length;
    if (i >= MAX_DICTIONARY) {
      throw new ClusterStateError('BAD_USER_BATCH', `more than ${MAX_DICTIONARY} distinct ${what} in one batch`, {
        name,
      });
    }
    dict.set(name, i);
    names.push(name);
  }
  return i;
}
