/**
 * What a node offers to administrators, without any wire format: the director-admin socket, and
 * any other front end (gRPC, tests), speak to a node only through this. Every operation that
 * changes the ring resolves once the whole ring has the change; failures are the typed errors of
 * errors.ts (NotFoundError, TryAgainError, SyncTimeoutError, HostUpdateRefusedError).
 */
export interface DirectorAdminApi {
  /** Backends in the director's order (IPv4 before IPv6, then address bytes). */
  hostList(): Promise<HostInfo[]>;
  /** Backends in director_mail_servers (resolved now) that are not in the ring's table. */
  hostListRemoved(): Promise<string[]>;
  /** Add a backend or change its vhost count; `tag` only when adding (a different tag is refused). */
  hostSet(change: HostChange): Promise<void>;
  /** Like hostSet, for an existing backend only. */
  hostUpdate(change: HostChange & { readonly vhostCount: number }): Promise<void>;
  hostUp(ip: string): Promise<void>;
  hostDown(ip: string): Promise<void>;
  /** Unsafe when the host has users: they lose their assignment without being kicked. */
  hostRemove(ip: string): Promise<void>;
  /** Unsafe: drop the assignments of one backend (all without `ip`) without kicking. */
  hostFlush(ip?: string): Promise<void>;
  /** Move the users of one backend (all without `ip`) to where placement puts them now, kicking their sessions. */
  hostResetUsers(ip?: string, maxParallel?: number): Promise<ResetUsersResult>;
  /** `userOrHash`: a username, or a 32-bit hash when it is all digits (as Dovecot reads it). */
  userLookup(userOrHash: string, tag: string): Promise<UserLookup>;
  /** Live assignments, oldest first; only those on `ip` when given. */
  userList(ip?: string): Promise<UserEntry[]>;
  /** Move a user (to the tag of the target host), kicking its sessions elsewhere on every node. */
  userMove(userOrHash: string, ip: string): Promise<void>;
  /** Close the sessions logged in with this username on every node. `nowait`: TryAgain when kicks are saturated. */
  userKick(user: string, nowait: boolean): Promise<void>;
  /** Close sessions whose passdb field `field` (a `user_*` alternative username) equals `value`. */
  userKickAlt(field: string, value: string, nowait: boolean): Promise<void>;
  directorList(): Promise<DirectorRow[]>;
  /** `port` defaults to this node's ring port. */
  directorAdd(ip: string, port?: number): Promise<void>;
  /** Without `port`: the first member with that IP. */
  directorRemove(ip: string, port?: number): Promise<void>;
}

export interface HostInfo {
  readonly ip: string;
  readonly vhostCount: number;
  /** Users currently assigned to it. */
  readonly users: number;
  readonly tag: string;
  readonly down: boolean;
  /** Unix seconds of the last up/down change; 0 = never. */
  readonly lastUpdownChange: number;
}

export interface HostChange {
  readonly ip: string;
  /** "" or absent: untagged for a new host, unchanged for an existing one. */
  readonly tag?: string;
  readonly vhostCount?: number;
}

export interface ResetUsersResult {
  readonly moved: number;
  readonly failed: number;
  /** Users whose tag has no usable backend left: they stay where they are. */
  readonly unplaceable: number;
}

export interface UserLookup {
  readonly userHash: number;
  /** Where the user is assigned now, and when that expires (unix seconds); undefined = not assigned. */
  readonly current: { readonly ip: string; readonly expires: number } | undefined;
  /** Where placement would put the user now ("" = no usable backend for the tag). */
  readonly hashedIp: string;
  /** Where placement over director_mail_servers as configured would put it ("" = none). */
  readonly initialIp: string;
}

export interface UserEntry {
  readonly userHash: number;
  readonly tag: string;
  readonly ip: string;
  /** Unix seconds. */
  readonly expires: number;
}

/** Ring states as Dovecot names them in DIRECTOR-LIST. */
export type RingState = 'handshaking' | 'synced' | 'syncing';

/** One DIRECTOR-LIST row: this node, a link to a peer, or a peer without a link. */
export type DirectorRow = SelfRow | LinkRow | MemberRow;

export interface SelfRow {
  readonly kind: 'self';
  readonly ip: string;
  readonly port: number;
  readonly ring: RingState;
  /** While syncing: how long the ring has been waiting for its sync round (ms). */
  readonly syncLagMs: number | undefined;
  /** Duration of the last completed sync round (ms); 0 when none yet. */
  readonly lastSyncMs: number;
}

export interface LinkRow {
  readonly kind: 'link';
  readonly ip: string;
  readonly port: number;
  /** left: the neighbour linking to us; right: the one we link to; in/out: other links. */
  readonly type: 'left' | 'right' | 'in' | 'out';
  /** Unix seconds of the last failure of this peer; 0 = none known. */
  readonly lastFailed: number;
  readonly state: RingState;
  readonly pingMs: number | undefined;
  /** Bytes queued towards the peer. */
  readonly buffered: number;
  /** Unix seconds we last heard from the peer. */
  readonly lastInput: number | undefined;
}

export interface MemberRow {
  readonly kind: 'member';
  readonly ip: string;
  readonly port: number;
  readonly removed: boolean;
  readonly lastFailed: number;
  /** idle: no link wanted now (not a neighbour). */
  readonly state: 'idle' | 'connecting' | 'failed';
}
