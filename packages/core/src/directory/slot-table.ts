/**
 * Storage layer of the user directory: one open-addressing hash table kept as struct-of-arrays,
 * plus an intrusive doubly linked list threaded through the same slots.
 *
 * Why this layout: the directory must hold 10M users in one process. A JS object per user costs
 * ~100 bytes and loads the GC; here a user is 21 bytes of typed arrays per slot, no object at all:
 *
 *   hashes Uint32 (0 = free slot) | tags Uint16 | hosts Uint16 | stamps Uint32 | flags Uint8
 *   prev Int32 | next Int32        (oldest-first list, -1 = none)
 *
 * - Home slot = floor(hash * capacity / 2^32) ("fastrange"), so the capacity can be any integer and
 *   growth can be a gentle x1.25 instead of doubling: the load stays in [0.68, 0.85], i.e. at most
 *   21 / 0.68 ≈ 31 bytes per user including the slack after growth. User hashes are MD5-derived and
 *   uniform, so linear probing clusters little even at 0.85.
 * - Deletion is backward-shift (no tombstones, no rebuilds): entries after the hole that may move are
 *   moved back, and since the list is intrusive, their neighbours' prev/next are repointed.
 * - `cursors` are list positions that must survive mutation (the ordered-insert hint and open
 *   iterators): unlinking a slot advances a cursor on it to the next user; moving a slot follows it.
 */

import { DirectoryRangeError } from './directory-errors.js';

export const NIL = -1;
/** A closed cursor entry. */
const CLOSED = -2;
const TWO_NEG_32 = 2 ** -32;
export const MAX_LOAD = 0.85;
export const GROWTH = 1.25;
export const MIN_CAPACITY = 8;
/** Slots are Int32 list pointers; stay well inside that and inside typed-array limits. */
export const MAX_CAPACITY = 2 ** 30;
/** Typed-array bytes per slot: hash 4 + stamp 4 + prev 4 + next 4 + tag 2 + host 2 + flags 1. */
export const BYTES_PER_SLOT = 21;

/** Smallest capacity that holds `users` without growing. */
export function capacityFor(users: number): number {
  return Math.min(MAX_CAPACITY, Math.max(MIN_CAPACITY, Math.floor(users / MAX_LOAD) + 1));
}

export class SlotTable {
  protected cap = 0;
  /** Grow before inserting when `count` reaches this. Always < cap, so a probe always meets a free slot. */
  protected limit = 0;
  protected count = 0;
  protected hashes = new Uint32Array(0);
  protected tags = new Uint16Array(0);
  protected hosts = new Uint16Array(0);
  protected stamps = new Uint32Array(0);
  protected flagBits = new Uint8Array(0);
  protected prev = new Int32Array(0);
  protected next = new Int32Array(0);
  protected head = NIL;
  protected tail = NIL;
  /** [0] is the ordered-insert hint; the others are open iterators (CLOSED when free). */
  protected readonly cursors: number[] = [NIL];

  constructor(capacity: number) {
    this.allocate(capacity);
  }

  /** Users stored. */
  get size(): number {
    return this.count;
  }

  /** Slots allocated (the valid slot indices are 0 .. capacity-1). */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of all per-slot typed arrays. */
  protected get slotBytes(): number {
    return (
      this.hashes.byteLength +
      this.tags.byteLength +
      this.hosts.byteLength +
      this.stamps.byteLength +
      this.flagBits.byteLength +
      this.prev.byteLength +
      this.next.byteLength
    );
  }

  /** Whether `slot` currently holds a user (for scans over 0 .. capacity-1). */
  isOccupied(slot: number): boolean {
    return (this.hashes[slot] ?? 0) !== 0;
  }

  protected home(hash: number): number {
    // hash < 2^32 and cap < 2^31, so the result is in [0, cap) even after rounding of the product.
    return (hash * this.cap * TWO_NEG_32) | 0;
  }

  /** The slot holding (tag, hash), or -(free position + 1) where it would be inserted. */
  protected find(tag: number, hash: number): number {
    const hashes = this.hashes;
    const tags = this.tags;
    const cap = this.cap;
    let i = this.home(hash);
    for (;;) {
      const h = hashes[i];
      if (h === 0) return -(i + 1);
      if (h === hash && tags[i] === tag) return i;
      if (++i === cap) i = 0;
    }
  }

  /** Writes a new entry at a free position found by `find`. The caller links it into the list. */
  protected occupy(pos: number, tag: number, hash: number, host: number, stamp: number, flags: number): void {
    this.hashes[pos] = hash;
    this.tags[pos] = tag;
    this.hosts[pos] = host;
    this.stamps[pos] = stamp;
    this.flagBits[pos] = flags;
    this.count++;
  }

  /** Unlinks and deletes the entry at `slot` with backward shift. Other slots may move. */
  protected vacate(slot: number): void {
    this.unlink(slot);
    const hashes = this.hashes;
    const cap = this.cap;
    let hole = slot;
    let j = slot;
    for (;;) {
      if (++j === cap) j = 0;
      const h = hashes[j] ?? 0;
      if (h === 0) break;
      const k = this.home(h);
      // The entry at j stays if its home lies cyclically in (hole, j]: moving it would put it before home.
      if (hole <= j ? hole < k && k <= j : hole < k || k <= j) continue;
      this.moveSlot(j, hole);
      hole = j;
    }
    hashes[hole] = 0;
    this.count--;
  }

  private moveSlot(src: number, dst: number): void {
    this.hashes[dst] = this.hashes[src] ?? 0;
    this.tags[dst] = this.tags[src] ?? 0;
    this.hosts[dst] = this.hosts[src] ?? 0;
    this.stamps[dst] = this.stamps[src] ?? 0;
    this.flagBits[dst] = this.flagBits[src] ?? 0;
    const p = this.prev[src] ?? NIL;
    const n = this.next[src] ?? NIL;
    this.prev[dst] = p;
    this.next[dst] = n;
    if (p === NIL) this.head = dst;
    else this.next[p] = dst;
    if (n === NIL) this.tail = dst;
    else this.prev[n] = dst;
    const cursors = this.cursors;
    for (let c = 0; c < cursors.length; c++) if (cursors[c] === src) cursors[c] = dst;
  }

  /** Takes `slot` out of the list; cursors on it move on to the next (newer) user. */
  protected unlink(slot: number): void {
    const p = this.prev[slot] ?? NIL;
    const n = this.next[slot] ?? NIL;
    if (p === NIL) this.head = n;
    else this.next[p] = n;
    if (n === NIL) this.tail = p;
    else this.prev[n] = p;
    const cursors = this.cursors;
    for (let c = 0; c < cursors.length; c++) if (cursors[c] === slot) cursors[c] = n;
  }

  /** Puts `slot` (not in the list) right after `after`, or first when `after` is NIL. */
  protected linkAfter(slot: number, after: number): void {
    const n = after === NIL ? this.head : (this.next[after] ?? NIL);
    this.prev[slot] = after;
    this.next[slot] = n;
    if (after === NIL) this.head = slot;
    else this.next[after] = slot;
    if (n === NIL) this.tail = slot;
    else this.prev[n] = slot;
  }

  /** Ensures one more user fits; may rehash, which moves every slot. */
  protected reserveOne(): void {
    if (this.count < this.limit) return;
    if (this.cap >= MAX_CAPACITY) {
      throw new DirectoryRangeError('user directory is full', { argument: 'size', value: this.count });
    }
    this.rehash(Math.min(MAX_CAPACITY, Math.max(MIN_CAPACITY, Math.ceil(this.cap * GROWTH))));
  }

  /** Drops every user and reallocates at `capacity`; open iterators end. */
  protected reset(capacity: number): void {
    this.allocate(capacity);
    this.count = 0;
    this.head = NIL;
    this.tail = NIL;
    const cursors = this.cursors;
    for (let c = 0; c < cursors.length; c++) if (cursors[c] !== CLOSED) cursors[c] = NIL;
  }

  protected openCursor(): number {
    let id = this.cursors.indexOf(CLOSED, 1);
    if (id === -1) id = this.cursors.push(NIL) - 1;
    this.cursors[id] = this.head;
    return id;
  }

  protected closeCursor(id: number): void {
    this.cursors[id] = CLOSED;
  }

  private allocate(capacity: number): void {
    this.cap = capacity;
    this.limit = Math.min(capacity - 1, Math.floor(capacity * MAX_LOAD));
    this.hashes = new Uint32Array(capacity);
    this.tags = new Uint16Array(capacity);
    this.hosts = new Uint16Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.flagBits = new Uint8Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  /**
   * Moves every entry into fresh arrays of `capacity` slots. Scans the old table in slot order (the new
   * homes are then nearly sequential too) and keeps an old->new map to repoint the list and cursors.
   */
  private rehash(capacity: number): void {
    const oldCap = this.cap;
    const { hashes, tags, hosts, stamps, flagBits, prev, next } = this;
    this.allocate(capacity);
    const map = new Int32Array(oldCap);
    const newHashes = this.hashes;
    for (let i = 0; i < oldCap; i++) {
      const h = hashes[i] ?? 0;
      if (h === 0) continue;
      let j = this.home(h);
      while (newHashes[j] !== 0) if (++j === capacity) j = 0;
      newHashes[j] = h;
      this.tags[j] = tags[i] ?? 0;
      this.hosts[j] = hosts[i] ?? 0;
      this.stamps[j] = stamps[i] ?? 0;
      this.flagBits[j] = flagBits[i] ?? 0;
      map[i] = j;
    }
    const remap = (slot: number): number => (slot < 0 ? slot : (map[slot] ?? NIL));
    for (let i = 0; i < oldCap; i++) {
      if (hashes[i] === 0) continue;
      const j = map[i] ?? 0;
      this.prev[j] = remap(prev[i] ?? NIL);
      this.next[j] = remap(next[i] ?? NIL);
    }
    this.head = remap(this.head);
    this.tail = remap(this.tail);
    const cursors = this.cursors;
    for (let c = 0; c < cursors.length; c++) cursors[c] = remap(cursors[c] ?? NIL);
  }
}
