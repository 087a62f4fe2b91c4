import { UserDirectory } from '../directory/user-directory.js';
import type { HostTable } from '../hosts/host-table.js';
import { compareIp } from '../hosts/ip-address.js';
import { TagIds } from '../routing/tag-ids.js';
import { batchRows, type UserBatch, UserBatchBuilder } from './user-batch.js';

/** Directory flag bit: the user has a non-zero epoch in the side table (moves are rare, so no column for it). */
export const EPOCH_FLAG = 0x80;

const TWO_32 = 2 ** 32;

/** Equal epochs, different hosts: Dovecot's "redirected to two hosts"; the numerically lower IP won. */
export interface UserConflict {
  readonly tag: string;
  readonly hash: number;
  readonly winnerIp: string;
  readonly loserIp: string;
  /** The merged update carried the winner (so this node switched); otherwise the sender is behind. */
  readonly incomingWon: boolean;
}

/** An assignment whose backend changed on this node (a move, or a conflict this node lost). */
export interface UserHostChange {
  readonly tag: string;
  readonly hash: number;
  readonly fromIp: string;
  readonly toIp: string;
  /** Lost a conflict (equal epochs) rather than a move (higher epoch). */
  readonly conflict: boolean;
}

export interface UserMergeOptions {
  /** Unix seconds. Rows already expired at `now` are ignored; timestamps are capped at `now`. */
  readonly now: number;
  /** Collect up to this many changed rows (as they now stand) in `learned`. Default 0. */
  readonly collectLearned?: number;
}

export interface UserMergeResult {
  readonly rows: number;
  /** Rows that changed this node's state. */
  readonly changed: number;
  /** Rows ignored: unknown (removed) host, zero hash, or already expired. */
  readonly skipped: number;
  readonly conflicts: UserConflict[];
  readonly hostChanges: UserHostChange[];
  /** Changed rows as this node now holds them, when requested and not more than the limit. */
  readonly learned: UserBatch | undefined;
  /** More rows changed than `collectLearned`: `learned` is incomplete. */
  readonly learnedOverflow: boolean;
}

/** A user key as one number: tagId * 2^32 + hash (exact in a double). */
export function userKey(tagId: number, hash: number): number {
  return tagId * TWO_32 + hash;
}

export function keyTag(key: number): number {
  return Math.floor(key / TWO_32);
}

export function keyHash(key: number): number {
  return key % TWO_32;
}

/**
 * The user directory as the ring replicates it: per (tag, hash) the triple (host, timestamp, epoch),
 * merged as a join-semilattice so any order and duplication of the same updates gives the same
 * state: the higher epoch wins the host; equal epochs with different hosts are a conflict the lower
 * IP wins; timestamps take the max. Expiry is the one non-monotone step: an expired user is as if
 * absent, and a row that is already expired is ignored.
 */
export class ReplicatedUsers {
  readonly directory: UserDirectory;
  readonly tags: TagIds;
  readonly hosts: HostTable;
  private readonly epochs = new Map<number, number>();

  constructor(opts: { hosts: HostTable; expireSecs?: number; directory?: UserDirectory; tags?: TagIds }) {
    this.hosts = opts.hosts;
    this.directory =
      opts.directory ?? new UserDirectory(opts.expireSecs === undefined ? {} : { expireSecs: opts.expireSecs });
    this.tags = opts.tags ?? new TagIds();
  }

  get size(): number {
    return this.directory.size;
  }

  get expireSecs(): number {
    return this.directory.expireSecs;
  }

  /** The live (unexpired) slot of (tagId, hash), or -1. */
  liveSlot(tagId: number, hash: number, now: number): number {
    const slot = this.directory.lookup(tagId, hash);
    return slot >= 0 && !this.directory.isExpired(slot, now) ? slot : -1;
  }

  epochOf(slot: number): number {
    if ((this.directory.flagsOf(slot) & EPOCH_FLAG) === 0) return 0;
    return this.epochs.get(userKey(this.directory.tagOf(slot), this.directory.hashOf(slot))) ?? 0;
  }

  hostIpOf(slot: number): string {
    return this.hosts.byHostId(this.directory.hostOf(slot))?.ip.text ?? '';
  }

  /**
   * A local decision (placement, refresh, move, flush): the user now goes to `hostId`, seen at
   * `timestamp`, made at `epochMs`. Unlike `merge`, the host is taken as given. Returns the slot.
   */
  assign(tagId: number, hash: number, hostId: number, timestamp: number, epochMs: number): number {
    const dir = this.directory;
    let slot = dir.lookup(tagId, hash);
    if (slot >= 0 && dir.isExpired(slot, timestamp)) {
      dir.removeSlot(slot);
      slot = -1;
    }
    if (slot < 0) {
      slot = dir.upsert(tagId, hash, hostId, timestamp, epochMs === 0 ? 0 : EPOCH_FLAG);
      this.writeEpoch(slot, epochMs);
      return slot;
    }
    dir.setHost(slot, hostId);
    dir.refreshSlot(slot, Math.max(timestamp, dir.timestampOf(slot)));
    this.writeEpoch(slot, epochMs);
    return slot;
  }

  merge(batch: UserBatch, opts: UserMergeOptions): UserMergeResult {
    const n = batchRows(batch);
    const now = opts.now;
    const limit = opts.collectLearned ?? 0;
    const dir = this.directory;
    const expire = dir.expireSecs;
    const tagIds = batch.tags.map((t) => this.tags.idOf(t));
    const hostIds = batch.hostIps.map((ip) => this.hosts.get(ip)?.id ?? -1);
    const learned = limit > 0 ? new UserBatchBuilder(Math.min(limit, n)) : undefined;
    const conflicts: UserConflict[] = [];
    const hostChanges: UserHostChange[] = [];
    let changed = 0;
    let skipped = 0;
    for (let i = 0; i < n; i++) {
      const hostId = hostIds[batch.hostIndex[i] as number] ?? -1;
      const hash = batch.hashes[i] as number;
      const ts = Math.min(batch.timestamps[i] as number, now);
      if (hostId < 0 || hash === 0 || ts + expire <= now) {
        skipped++;
        continue;
      }
      const tagId = tagIds[batch.tagIndex[i] as number] as number;
      const epoch = batch.epochMs[i] as number;
      let slot = dir.lookup(tagId, hash);
      if (slot >= 0 && dir.isExpired(slot, now)) {
        dir.removeSlot(slot);
        slot = -1;
      }
      if (slot < 0) {
        slot = this.assign(tagId, hash, hostId, ts, epoch);
      } else if (!this.mergeInto(slot, hostId, ts, epoch, conflicts, hostChanges)) {
        continue;
      }
      changed++;
      if (learned && learned.rows < limit) this.addRow(learned, slot);
    }
    return {
      rows: n,
      changed,
      skipped,
      conflicts,
      hostChanges,
      learned: learned?.build(),
      learnedOverflow: changed > limit,
    };
  }

  /** Removes every user of the host (the host was removed or re-tagged). */
  dropHost(hostId: number): number {
    return this.directory.removeByHost(hostId);
  }

  /** Expires users, and forgets epochs of users that are gone. Returns how many users expired. */
  expire(now: number, max?: number): number {
    const removed = this.directory.expire(now, max);
    if (removed > 0 && this.epochs.size > 0) this.sweepEpochs();
    return removed;
  }

  /** Drops epochs whose user is no longer in the directory (after removals the directory did alone). */
  sweepEpochs(): void {
    for (const key of this.epochs.keys()) {
      const slot = this.directory.lookup(keyTag(key), keyHash(key));
      if (slot < 0 || (this.directory.flagsOf(slot) & EPOCH_FLAG) === 0) this.epochs.delete(key);
    }
  }

  /** Appends the user at `slot` to a batch being built. */
  addRow(builder: UserBatchBuilder, slot: number): void {
    const dir = this.directory;
    builder.add(
      this.tags.nameOf(dir.tagOf(slot)),
      dir.hashOf(slot),
      this.hostIpOf(slot),
      dir.timestampOf(slot),
      this.epochOf(slot),
    );
  }

  /** Packs the given users (keys from `userKey`) that are live at `now`. */
  pack(keys: Iterable<number>, now: number): UserBatch {
    const builder = new UserBatchBuilder();
    for (const key of keys) {
      const slot = this.liveSlot(keyTag(key), keyHash(key), now);
      if (slot >= 0) this.addRow(builder, slot);
    }
    return builder.build();
  }

  /**
   * Packs live users in chunks of at most `chunkRows`, oldest first (no per-user objects).
   * `include(hash)` picks users, e.g. by digest bucket. Oldest first because the receiver keeps
   * its users in timestamp order: an ascending stream inserts at the tail, a shuffled one walks.
   */
  packChunks(now: number, chunkRows: number, include: (hash: number, slot: number) => boolean): UserBatch[] {
    const dir = this.directory;
    const out: UserBatch[] = [];
    const tagIdx = new Int32Array(0x10000).fill(-1);
    const hostIdx = new Int32Array(0x10000).fill(-1);
    let builder = new UserBatchBuilder(Math.min(chunkRows, 1024));
    for (let slot = dir.oldestSlot(); slot >= 0; slot = dir.newerSlot(slot)) {
      if (dir.isExpired(slot, now)) continue;
      const hash = dir.hashOf(slot);
      if (!include(hash, slot)) continue;
      const tagId = dir.tagOf(slot);
      const hostId = dir.hostOf(slot);
      let t = tagIdx[tagId] as number;
      if (t < 0) t = tagIdx[tagId] = builder.tagIndexOf(this.tags.nameOf(tagId));
      let h = hostIdx[hostId] as number;
      if (h < 0) h = hostIdx[hostId] = builder.hostIndexOf(this.hostIpOf(slot));
      builder.addIndexed(t, hash, h, dir.timestampOf(slot), this.epochOf(slot));
      if (builder.rows >= chunkRows) {
        out.push(builder.build());
        builder = new UserBatchBuilder(Math.min(chunkRows, 1024));
        tagIdx.fill(-1);
        hostIdx.fill(-1);
      }
    }
    if (builder.rows > 0) out.push(builder.build());
    return out;
  }

  /** Merges one row into an existing live slot. Returns whether anything changed. */
  private mergeInto(
    slot: number,
    hostId: number,
    ts: number,
    epoch: number,
    conflicts: UserConflict[],
    hostChanges: UserHostChange[],
  ): boolean {
    const dir = this.directory;
    const localHost = dir.hostOf(slot);
    const localEpoch = this.epochOf(slot);
    let host = localHost;
    if (epoch > localEpoch) host = hostId;
    else if (epoch === localEpoch && hostId !== localHost) {
      const incoming = this.hosts.byHostId(hostId);
      const local = this.hosts.byHostId(localHost);
      const incomingWins = !local || (incoming !== undefined && compareIp(incoming.ip, local.ip) < 0);
      host = incomingWins ? hostId : localHost;
      conflicts.push({
        tag: this.tags.nameOf(dir.tagOf(slot)),
        hash: dir.hashOf(slot),
        winnerIp: this.hosts.byHostId(host)?.ip.text ?? '',
        loserIp: this.hosts.byHostId(incomingWins ? localHost : hostId)?.ip.text ?? '',
        incomingWon: incomingWins,
      });
    }
    let changed = false;
    if (host !== localHost) {
      hostChanges.push({
        tag: this.tags.nameOf(dir.tagOf(slot)),
        hash: dir.hashOf(slot),
        fromIp: this.hosts.byHostId(localHost)?.ip.text ?? '',
        toIp: this.hosts.byHostId(host)?.ip.text ?? '',
        conflict: epoch === localEpoch,
      });
      dir.setHost(slot, host);
      changed = true;
    }
    if (epoch > localEpoch) {
      this.writeEpoch(slot, epoch);
      changed = true;
    }
    if (ts > dir.timestampOf(slot)) {
      dir.refreshSlot(slot, ts);
      changed = true;
    }
    return changed;
  }

  private writeEpoch(slot: number, epochMs: number): void {
    const dir = this.directory;
    const key = userKey(dir.tagOf(slot), dir.hashOf(slot));
    const flags = dir.flagsOf(slot);
    if (epochMs === 0) {
      if (flags & EPOCH_FLAG) dir.setFlags(slot, flags & ~EPOCH_FLAG);
      this.epochs.delete(key);
    } else {
      if ((flags & EPOCH_FLAG) === 0) dir.setFlags(slot, flags | EPOCH_FLAG);
      this.epochs.set(key, epochMs);
    }
  }
}
