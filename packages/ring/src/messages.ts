import type { HostRecord } from '@usher/core';

/**
 * What peers say to each other. The transport (in-memory or gRPC) moves these values; the
 * gRPC transport maps them 1:1 onto proto/usher/v1/ring.proto. Users travel as packed columns
 * (one typed array per field) so a million assignments are a handful of buffers, not a million objects.
 */

// Hosts and clock values are core's types: the wire carries exactly what the merge rules take.
export type { Hlc, HostRecord } from '@usher/core';

/** One node's verdict on one backend (see `health` below). */
export interface HealthObservation {
  readonly ip: string;
  readonly failing: boolean;
  /** Unix ms on the origin's clock since when the verdict holds. */
  readonly sinceMs: number;
}

/** Optional message kinds a node understands, announced in its hello (see `features`). */
export const RING_FEATURES = ['health'] as const;

/**
 * User assignments, column-wise. Row i is (tags[tagIndex[i]], hashes[i]) -> hostIps[hostIndex[i]],
 * refreshed at timestamps[i] (unix seconds). epochMs[i] is 0 for an assignment made by placement and the
 * HLC wall time of the admin move / flush that made it otherwise: a newer epoch wins over an older one,
 * equal epochs resolve to the lower backend IP (Dovecot's rule), timestamps merge by max.
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

export type RingMessage =
  /** First message on every link, both ways. */
  | {
      readonly kind: 'hello';
      readonly from: string;
      readonly protocol: number;
      /** Members as the sender knows them ("ip:port"), so a joining node learns the ring. */
      readonly members: readonly string[];
      readonly hostsHash: number;
      /** Per-bucket digests of the sender's user directory (see the ring's digest scheme). */
      readonly bucketDigests: Uint32Array;
      /**
       * Optional message kinds the sender understands (RING_FEATURES). A peer is sent such a message
       * only once it announced the kind: a node that predates it would drop the link over it.
       */
      readonly features?: readonly string[];
    }
  /** Full state for the buckets the receiver lacks (all buckets for an empty node). Sent in chunks. */
  | {
      readonly kind: 'state';
      readonly hosts: readonly HostRecord[];
      readonly users: UserBatch;
      readonly buckets: readonly number[];
      readonly last: boolean;
    }
  /** A flooded change: (origin, seq) identifies it ring-wide for de-duplication. */
  | {
      readonly kind: 'update';
      readonly origin: string;
      readonly seq: number;
      readonly hosts: readonly HostRecord[];
      readonly users: UserBatch;
      /** Kick sessions of these user hashes except those on exceptHost[i] ("" = kick all): moves and conflicts. */
      readonly kicks: readonly { readonly hash: number; readonly exceptHost: string }[];
      /** Kick sessions by login username (admin USER-KICK). */
      readonly kickUsers: readonly string[];
    }
  /** The sync token: goes rightwards round the ring; back at its origin, every peer has seen what came before it. */
  | { readonly kind: 'sync'; readonly origin: string; readonly seq: number; readonly hostsHash: number }
  /** Membership change flooded ring-wide. */
  | {
      readonly kind: 'member';
      readonly origin: string;
      readonly seq: number;
      readonly node: string;
      readonly removed: boolean;
    }
  /**
   * A node's current health verdicts on the backends, flooded like updates. Only the latest per
   * origin counts; it is re-sent periodically and stands for `validMs` after it arrives.
   */
  | {
      readonly kind: 'health';
      readonly origin: string;
      readonly seq: number;
      readonly validMs: number;
      readonly observations: readonly HealthObservation[];
    }
  | { readonly kind: 'ping'; readonly sentMs: number }
  | { readonly kind: 'pong'; readonly sentMs: number };
