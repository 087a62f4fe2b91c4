/**
 * The user directory (Dovecot director's user table): (tagId, userHash) -> hostId, last refresh
 * timestamp, flags, kept oldest-first so expiry pops from the head.
 *
 * Layout (see slot-table.ts for why): one open-addressing struct-of-arrays table, 21 bytes per slot,
 * load 0.68..0.85, with an intrusive prev/next list through the slots ordered by timestamp. No JS object
 * per user, nothing allocated per operation. Users are handed out as slot indices: read them with the
 * `*Of(slot)` accessors.
 *
 * Slot validity: a slot index stays valid until the next call that inserts a new user (`upsert` may
 * grow the table, moving every slot) or removes any user (`remove`, `expire`, `removeByHost`, `flush`:
 * backward-shift deletion moves neighbours). `refresh`, `setFlags`, `setHost` and `upsert` of an
 * existing user never move slots. Use `iterate()` when the directory changes during the walk.
 *
 * Order: the list is sorted by timestamp (ties: the user (re)placed last is later). Local refreshes
 * append at the tail in O(1). An older timestamp (from a peer) is placed by walking from the previous
 * out-of-order placement, as Dovecot does: a handshake streams users oldest-first, so each walk is
 * short (O(n) in total for a sorted stream; a single stray old timestamp may walk far).
 *
 * Pure: time is always an argument (unix seconds), never read from a clock.
 */
import { DirectoryConfigError, DirectoryRangeError } from './directory-errors.js';
import { HostCounts, MAX_HOST_ID } from './host-counts.js';
import { capacityFor, MAX_CAPACITY, MAX_LOAD, NIL, SlotTable } from './slot-table.js';

export { DirectoryConfigError, DirectoryRangeError } from './directory-errors.js';
export { BYTES_PER_SLOT as DIRECTORY_BYTES_PER_SLOT, MAX_LOAD as DIRECTORY_MAX_LOAD } from './slot-table.js';

/** Bits of a user's flags (uint8; the other bits are free for the caller). */
export const UserFlags = {
  /** Being moved: route to its host only if it is still up, otherwise wait (Dovecot's "weak"). */
  WEAK: 1,
  /** Its connections on the old host are being killed after a move. */
  KILLING: 2,
} as const;

export const DEFAULT_USER_EXPIRE_SECS = 900;
/** Dovecot refuses director_user_expire below this too. */
export const MIN_USER_EXPIRE_SECS = 10;
export const MAX_TAG_ID = 0xffff;
export { MAX_HOST_ID } from './host-counts.js';

export interface UserDirectoryOptions {
  /** user_expire: a user expires at timestamp + expireSecs. Default 900, at least 10. */
  expireSecs?: number;
  /** Users to hold before the first growth. */
  initialCapacity?: number;
}

/** An oldest-first walk that stays valid while the directory changes (like Dovecot's iterators). */
export interface UserIterator {
  /** The next slot, or -1 at the end. Users removed before being reached are skipped. */
  next(): number;
  /** Releases the position; further next() calls return -1. */
  close(): void;
}

export class UserDirectory extends SlotTable {
  readonly expireSecs: number;
  private readonly initialSlots: number;
  private readonly perHost = new HostCounts();

  constructor(opts: UserDirectoryOptions = {}) {
    const expireSecs = opts.expireSecs ?? DEFAULT_USER_EXPIRE_SECS;
    if (!Number.isInteger(expireSecs) || expireSecs < MIN_USER_EXPIRE_SECS || expireSecs > 0xffffffff) {
      throw new DirectoryConfigError(`user_expire must be an integer of at least ${MIN_USER_EXPIRE_SECS} seconds`, {
        option: 'expireSecs',
        value: opts.expireSecs,
      });
    }
    const initial = opts.initialCapacity ?? 0;
    if (!Number.isInteger(initial) || initial < 0 || initial > MAX_CAPACITY * MAX_LOAD) {
      throw new DirectoryConfigError('initialCapacity must be a non-negative integer the table can hold', {
        option: 'initialCapacity',
        value: opts.initialCapacity,
      });
    }
    super(capacityFor(initial));
    this.expireSecs = expireSecs;
    this.initialSlots = this.cap;
  }

  /** Bytes of all typed arrays (slots + per-host counts). */
  get byteLength(): number {
    return this.slotBytes + this.perHost.byteLength;
  }

  /** The slot of (tagId, hash), or -1. */
  lookup(tagId: number, hash: number): number {
    if (hash >>> 0 !== hash || hash === 0) return -1;
    const r = this.find(tagId, hash);
    return r < 0 ? -1 : r;
  }

  has(tagId: number, hash: number): boolean {
    return this.lookup(tagId, hash) !== -1;
  }

  hashOf(slot: number): number {
    return this.hashes[slot] ?? 0;
  }
  tagOf(slot: number): number {
    return this.tags[slot] ?? 0;
  }
  hostOf(slot: number): number {
    return this.hosts[slot] ?? 0;
  }
  timestampOf(slot: number): number {
    return this.stamps[slot] ?? 0;
  }
  flagsOf(slot: number): number {
    return this.flagBits[slot] ?? 0;
  }
  expiresAt(slot: number): number {
    return this.timestampOf(slot) + this.expireSecs;
  }
  isExpired(slot: number, now: number): boolean {
    return this.timestampOf(slot) + this.expireSecs <= now;
  }

  /**
   * Inserts the user, or overwrites its host. The timestamp never goes back: an existing user keeps
   * max(old, timestamp) and moves in the order only when it grows. `flags` undefined keeps the
   * existing flags (0 for a new user). Returns the user's slot.
   */
  upsert(tagId: number, hash: number, hostId: number, timestamp: number, flags?: number): number {
    checkKey(tagId, hash);
    checkHost(hostId);
    checkStamp(timestamp);
    if (flags !== undefined) checkFlags(flags);
    let slot = this.find(tagId, hash);
    if (slot >= 0) {
      const oldHost = this.hosts[slot] ?? 0;
      if (oldHost !== hostId) {
        this.perHost.decrement(oldHost);
        this.perHost.increment(hostId);
        this.hosts[slot] = hostId;
      }
      if (flags !== undefined) this.flagBits[slot] = flags;
      if (timestamp > (this.stamps[slot] ?? 0)) this.restamp(slot, timestamp);
      return slot;
    }
    if (this.count >= this.limit) {
      this.reserveOne();
      slot = this.find(tagId, hash);
    }
    slot = -slot - 1;
    this.occupy(slot, tagId, hash, hostId, timestamp, flags ?? 0);
    this.perHost.increment(hostId);
    this.linkInOrder(slot);
    return slot;
  }

  /** The user is active at `now`: timestamp := now (never backwards), move to the tail. False if absent. */
  refresh(tagId: number, hash: number, now: number): boolean {
    const slot = this.lookup(tagId, hash);
    if (slot === -1) return false;
    this.refreshSlot(slot, now);
    return true;
  }

  /** `refresh` for a slot already looked up. */
  refreshSlot(slot: number, now: number): void {
    checkStamp(now);
    if (now >= (this.stamps[slot] ?? 0)) this.restamp(slot, now);
  }

  /** Replaces the user's flags (uint8, see UserFlags). */
  setFlags(slot: number, flags: number): void {
    checkFlags(flags);
    this.flagBits[slot] = flags;
  }

  /** Moves the user to another host, keeping its timestamp and flags. */
  setHost(slot: number, hostId: number): void {
    checkHost(hostId);
    const oldHost = this.hosts[slot] ?? 0;
    if (oldHost === hostId) return;
    this.perHost.decrement(oldHost);
    this.perHost.increment(hostId);
    this.hosts[slot] = hostId;
  }

  remove(tagId: number, hash: number): boolean {
    const slot = this.lookup(tagId, hash);
    if (slot === -1) return false;
    this.removeSlot(slot);
    return true;
  }

  /** Removes the user at `slot` (other slots may move). */
  removeSlot(slot: number): void {
    this.perHost.decrement(this.hosts[slot] ?? 0);
    this.vacate(slot);
  }

  /**
   * Removes users with timestamp + expireSecs <= now, oldest first, at most `max` of them (to bound
   * the work per tick). Returns how many were removed. Flags are not consulted: a caller that must keep
   * a WEAK or KILLING user alive refreshes it.
   */
  expire(now: number, max = Number.POSITIVE_INFINITY): number {
    const deadline = now - this.expireSecs;
    let removed = 0;
    while (removed < max && this.head !== NIL && (this.stamps[this.head] ?? 0) <= deadline) {
      this.removeSlot(this.head);
      removed++;
    }
    return removed;
  }

  /** When the oldest user expires (unix seconds), or undefined when empty: when to call expire() next. */
  nextExpiry(): number | undefined {
    return this.head === NIL ? undefined : (this.stamps[this.head] ?? 0) + this.expireSecs;
  }

  /** Users assigned to the host (O(1)). */
  countByHost(hostId: number): number {
    return this.perHost.get(hostId);
  }

  /** Host ids that have at least one user, ascending. */
  hostIds(): number[] {
    return this.perHost.ids();
  }

  /** Removes every user of the host (doveadm director flush/remove). Returns how many. */
  removeByHost(hostId: number): number {
    const expected = this.perHost.get(hostId);
    if (expected === 0) return 0;
    let removed = 0;
    // Scan slot order (sequential memory). Backward shift only moves entries back towards the hole,
    // so re-checking the same slot after a removal visits every entry exactly once.
    for (let i = 0; i < this.cap && removed < expected; ) {
      if (this.hashes[i] !== 0 && this.hosts[i] === hostId) {
        this.removeSlot(i);
        removed++;
      } else {
        i++;
      }
    }
    return removed;
  }

  /** Removes every user; the table shrinks back to its initial capacity. Returns how many. */
  flush(): number {
    const removed = this.count;
    this.reset(this.initialSlots);
    this.perHost.clear();
    return removed;
  }

  /** Oldest user's slot, or -1. */
  oldestSlot(): number {
    return this.head;
  }

  /** Newest user's slot, or -1. */
  newestSlot(): number {
    return this.tail;
  }

  /** The next newer user after `slot`, or -1. */
  newerSlot(slot: number): number {
    return this.next[slot] ?? NIL;
  }

  /** Calls `fn(slot)` for every user, oldest first. `fn` must not change the directory (see iterate()). */
  forEach(fn: (slot: number) => void): void {
    for (let s = this.head; s !== NIL; s = this.next[s] ?? NIL) fn(s);
  }

  /** Oldest-first walk that tolerates changes between steps. Close it when done (it costs each removal a check). */
  iterate(): UserIterator {
    const id = this.openCursor();
    let open = true;
    return {
      next: (): number => {
        if (!open) return NIL;
        const slot = this.cursors[id] ?? NIL;
        if (slot !== NIL) this.cursors[id] = this.next[slot] ?? NIL;
        return slot;
      },
      close: (): void => {
        if (!open) return;
        open = false;
        this.closeCursor(id);
      },
    };
  }

  /** Sets a grown timestamp and moves the user to its place in the order (usually the tail). */
  private restamp(slot: number, timestamp: number): void {
    this.unlink(slot);
    this.stamps[slot] = timestamp;
    this.linkInOrder(slot);
  }

  /** Links an unlinked slot after the last user whose timestamp is <= its own. */
  private linkInOrder(slot: number): void {
    const stamps = this.stamps;
    const ts = stamps[slot] ?? 0;
    const tail = this.tail;
    if (tail === NIL || (stamps[tail] ?? 0) <= ts) {
      this.linkAfter(slot, tail);
    } else {
      let pos = this.cursors[0] ?? NIL;
      if (pos === NIL) pos = tail;
      if ((stamps[pos] ?? 0) > ts) {
        while (pos !== NIL && (stamps[pos] ?? 0) > ts) pos = this.prev[pos] ?? NIL;
        this.linkAfter(slot, pos);
      } else {
        // Stops before the tail at the latest, since the tail is newer than ts.
        while ((stamps[pos] ?? 0) <= ts) pos = this.next[pos] ?? NIL;
        this.linkAfter(slot, this.prev[pos] ?? NIL);
      }
      // Only out-of-order placements move the hint, so local refreshes (tail appends) interleaved
      // with a handshake stream do not send the next placement back to the tail.
      this.cursors[0] = slot;
    }
  }
}

function checkKey(tagId: number, hash: number): void {
  if ((tagId & MAX_TAG_ID) !== tagId) {
    throw new DirectoryRangeError('tag id out of range', { argument: 'tagId', value: tagId });
  }
  if (hash >>> 0 !== hash || hash === 0) {
    throw new DirectoryRangeError('user hash must be a non-zero uint32', { argument: 'hash', value: hash });
  }
}

function checkHost(hostId: number): void {
  if ((hostId & 0xffff) !== hostId || hostId > MAX_HOST_ID) {
    throw new DirectoryRangeError('host id out of range', { argument: 'hostId', value: hostId });
  }
}

function checkStamp(timestamp: number): void {
  if (timestamp >>> 0 !== timestamp) {
    throw new DirectoryRangeError('timestamp must be uint32 unix seconds', { argument: 'timestamp', value: timestamp });
  }
}

function checkFlags(flags: number): void {
  if ((flags & 0xff) !== flags) {
    throw new DirectoryRangeError('flags must be uint8', { argument: 'flags', value: flags });
  }
}
