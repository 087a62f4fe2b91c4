import type { HostTable, UserHasher } from '@usher/core';
import type { Scheduler } from './scheduler.js';
import type { Transport } from './transport.js';

/**
 * How the ring kicks local sessions. The proxy's SessionRegistry has this shape, so the server can
 * hand it over as is; the ring never imports the proxy.
 */
export interface KickSink {
  /** Close sessions of this user hash, except those on `exceptBackend` (undefined = all). */
  kickHash(userHash: number, exceptBackend?: string): unknown;
  /** Close sessions logged in with this username (admin USER-KICK). */
  kickUser(username: string): unknown;
}

export interface RingLog {
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export interface RingNodeOptions {
  /** This node's id, "ip:port" as the transport authenticates it. */
  readonly self: string;
  /** director_servers: every ring member we know of at start (self may be included). */
  readonly members: readonly string[];
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  /** The configured backends; the ring replicates and changes this table from now on. */
  readonly hosts: HostTable;
  readonly hasher: UserHasher;
  /** director_user_expire (default 900). */
  readonly userExpireSecs?: number;
  /** director_user_kick_delay: after a move is confirmed, logins of the user wait this long more (default 2000). */
  readonly userKickDelayMs?: number;
  /** Admin operations reject when the ring has not confirmed them by then (default 30000). */
  readonly syncTimeoutMs?: number;
  /** A lost sync token is re-sent after this (default 5000, Dovecot's value). */
  readonly syncResendMs?: number;
  /** Ping every link this often (default 1000). */
  readonly pingIntervalMs?: number;
  /** A link silent for this long is closed and its peer skipped for a while (default 5000). */
  readonly pingTimeoutMs?: number;
  /** How long a peer that failed is skipped when choosing our right (default 10000). */
  readonly retryFailedMs?: number;
  /** Logins wait at most this long, then fail temporarily (default 30000, Dovecot's fixed value). */
  readonly requestTimeoutMs?: number;
  /** Refreshes and placements are flooded in batches: at most this often (default 10: an assignment reaches 16 nodes well within 50 ms) ... */
  readonly updateBatchMs?: number;
  /** ... or as soon as this many users are waiting (default 10000). */
  readonly updateBatchUsers?: number;
  /** Users per `state` message (default 65536). */
  readonly stateChunkUsers?: number;
  /**
   * Users learned in one state transfer that are re-flooded to the ring as an update; above this
   * the node asks its other neighbours to compare digests instead (default 10000).
   */
  readonly floodLearnedMax?: number;
  /** Tombstones of removed hosts are forgotten after this (default 7 days). */
  readonly tombstoneTtlMs?: number;
  readonly kicks: KickSink;
  readonly log?: RingLog;
}

export type ResolvedRingOptions = Required<Omit<RingNodeOptions, 'log'>> & { readonly log: RingLog };

export const RING_PROTOCOL = 1;

const silentLog: RingLog = { info() {}, warn() {}, error() {} };

export function resolveOptions(opts: RingNodeOptions): ResolvedRingOptions {
  return {
    userExpireSecs: 900,
    userKickDelayMs: 2000,
    syncTimeoutMs: 30_000,
    syncResendMs: 5000,
    pingIntervalMs: 1000,
    pingTimeoutMs: 5000,
    retryFailedMs: 10_000,
    requestTimeoutMs: 30_000,
    updateBatchMs: 10,
    updateBatchUsers: 10_000,
    stateChunkUsers: 65_536,
    floodLearnedMax: 10_000,
    tombstoneTtlMs: 7 * 24 * 3600_000,
    ...stripUndefined(opts),
    log: opts.log ?? silentLog,
  } as ResolvedRingOptions;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface PeerStatus {
  readonly node: string;
  /** up: a link is open; connecting: our outbound attempt; failed: skipped after a failure; idle: not linked. */
  readonly state: 'up' | 'connecting' | 'failed' | 'idle';
  /** right: our outbound neighbour; left: links it opened to us. */
  readonly roles: readonly ('right' | 'left')[];
  readonly rttMs: number | undefined;
  /** Bytes queued towards the peer. */
  readonly buffered: number;
  /** Ms since we last heard from it (undefined when not linked). */
  readonly silentMs: number | undefined;
}

export interface RingStatus {
  readonly self: string;
  /** Received a full state from a peer, or found itself alone. Until then logins wait. */
  readonly ready: boolean;
  /** No live link to any peer: serving on its own. */
  readonly alone: boolean;
  /** No sync round in flight or queued, and the host table is confirmed ring-wide. */
  readonly synced: boolean;
  /** Ms since the round in flight was sent (the sync lag); undefined when none is in flight. */
  readonly syncLagMs: number | undefined;
  /** Duration of the last completed sync round. */
  readonly lastSyncRoundMs: number | undefined;
  readonly hostsHash: number;
  readonly users: number;
  readonly movingUsers: number;
  readonly waitingRequests: number;
  readonly peers: readonly PeerStatus[];
}
