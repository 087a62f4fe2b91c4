import type { ReplicatedUsers } from './replicated-users.js';

/**
 * Anti-entropy digests: users are split into buckets by the high bits of their hash, and each bucket
 * gets a 32-bit digest, the sum of a mixed hash of every live user's (tag, hash, host IP, epoch,
 * coarse timestamp). Two nodes holding the same users produce the same digests whatever their local
 * tag and host ids or slot order; a peer then needs only the buckets whose digests differ.
 *
 * Timestamps are rounded down to `granularitySecs` so refreshes a few seconds apart do not make
 * every bucket differ; the price is that a missed refresh smaller than that is not repaired.
 */
export const BUCKET_BITS = 12;
export const BUCKET_COUNT = 1 << BUCKET_BITS;

export function bucketOf(hash: number): number {
  return hash >>> (32 - BUCKET_BITS);
}

export interface DigestOptions {
  /** Unix seconds: users expired by then are left out. */
  readonly now: number;
  /** Timestamp rounding (seconds, >= 1). */
  readonly granularitySecs: number;
}

export function computeDigests(users: ReplicatedUsers, opts: DigestOptions): Uint32Array {
  const out = new Uint32Array(BUCKET_COUNT);
  const dir = users.directory;
  const gran = Math.max(1, Math.floor(opts.granularitySecs));
  const hostHashes = new Map<number, number>();
  const tagHashes = new Map<number, number>();
  const cap = dir.capacity;
  for (let slot = 0; slot < cap; slot++) {
    if (!dir.isOccupied(slot) || dir.isExpired(slot, opts.now)) continue;
    const hostId = dir.hostOf(slot);
    let hostH = hostHashes.get(hostId);
    if (hostH === undefined) {
      hostH = fnv1a(users.hostIpOf(slot));
      hostHashes.set(hostId, hostH);
    }
    const tagId = dir.tagOf(slot);
    let tagH = tagHashes.get(tagId);
    if (tagH === undefined) {
      tagH = fnv1a(users.tags.nameOf(tagId));
      tagHashes.set(tagId, tagH);
    }
    const hash = dir.hashOf(slot);
    const b = bucketOf(hash);
    const d = entryDigest(hash, tagH, hostH, users.epochOf(slot), Math.floor(dir.timestampOf(slot) / gran));
    out[b] = ((out[b] as number) + d) >>> 0;
  }
  return out;
}

/** A mask (1 = differs) over buckets. A peer that sent a digest array of the wrong length differs everywhere. */
export function differingBuckets(mine: Uint32Array, theirs: Uint32Array): Uint8Array {
  const mask = new Uint8Array(BUCKET_COUNT);
  const comparable = theirs.length === BUCKET_COUNT;
  for (let b = 0; b < BUCKET_COUNT; b++) {
    if (!comparable || mine[b] !== theirs[b]) mask[b] = 1;
  }
  return mask;
}

/** The digest contribution of one user; exported so tests can build expected digests by hand. */
export function entryDigest(
  hash: number,
  tagHash: number,
  hostHash: number,
  epochMs: number,
  tsRounded: number,
): number {
  let h = fmix32((hash ^ tagHash) >>> 0);
  h = fmix32((h + hostHash) >>> 0);
  h = fmix32((h ^ (epochMs % 0x100000000)) >>> 0);
  h = fmix32((h ^ Math.floor(epochMs / 0x100000000)) >>> 0);
  h = fmix32((h ^ tsRounded) >>> 0);
  // zero would make a user invisible in its bucket's sum
  return h === 0 ? 1 : h;
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
