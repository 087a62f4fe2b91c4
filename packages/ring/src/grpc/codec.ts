import type { Hlc, HostRecord, RingMessage, UserBatch } from '../messages.js';
import { columnBytes, columnFromBytes, FrameError } from './columns.js';
import {
  decodeFrame,
  encodeFrame,
  type HlcFrame,
  type HostFrame,
  type KicksFrame,
  type RingFrame,
  type UserBatchFrame,
} from './frames.js';

/**
 * RingMessage <-> RingFrame. toFrame checks what protobuf would otherwise silently wrap or truncate
 * (a negative count, a fractional seq) and throws RangeError: that is a bug in the sender.
 * fromFrame checks what a peer could get wrong (column lengths, dangling indices, missing
 * submessages) and throws FrameError: the link carrying it cannot be trusted further.
 */

export { FrameError } from './columns.js';

export function encodeMessage(message: RingMessage): Buffer {
  return encodeFrame(toFrame(message));
}

export function decodeMessage(bytes: Buffer): RingMessage {
  let frame: unknown;
  try {
    frame = decodeFrame(bytes);
  } catch (err) {
    throw new FrameError(`undecodable frame (${bytes.length} bytes): ${(err as Error).message}`);
  }
  return fromFrame(frame);
}

export function toFrame(m: RingMessage): RingFrame {
  switch (m.kind) {
    case 'hello':
      return {
        body: 'hello',
        hello: {
          from: m.from,
          protocol: u32(m.protocol, 'hello.protocol'),
          members: [...m.members],
          hostsHash: int(m.hostsHash, 'hello.hostsHash'),
          bucketDigests: columnBytes(m.bucketDigests),
          features: [...(m.features ?? [])],
        },
      };
    case 'state':
      return {
        body: 'state',
        state: {
          hosts: m.hosts.map(hostToFrame),
          users: usersToFrame(m.users),
          buckets: m.buckets.map((b) => u32(b, 'state.buckets')),
          last: m.last,
        },
      };
    case 'update':
      return {
        body: 'update',
        update: {
          origin: m.origin,
          seq: int(m.seq, 'update.seq'),
          hosts: m.hosts.map(hostToFrame),
          users: usersToFrame(m.users),
          kicks: kicksToFrame(m.kicks),
          kickUsers: [...m.kickUsers],
        },
      };
    case 'sync':
      return {
        body: 'sync',
        sync: { origin: m.origin, seq: int(m.seq, 'sync.seq'), hostsHash: int(m.hostsHash, 'sync.hostsHash') },
      };
    case 'member':
      return {
        body: 'member',
        member: { origin: m.origin, seq: int(m.seq, 'member.seq'), node: m.node, removed: m.removed },
      };
    case 'health':
      return {
        body: 'health',
        health: {
          origin: m.origin,
          seq: int(m.seq, 'health.seq'),
          validMs: u32(m.validMs, 'health.validMs'),
          observations: m.observations.map((o) => ({
            ip: o.ip,
            failing: o.failing,
            sinceMs: int(o.sinceMs, 'health.sinceMs'),
          })),
        },
      };
    case 'ping':
      return { body: 'ping', ping: { sentMs: m.sentMs } };
    case 'pong':
      return { body: 'pong', pong: { sentMs: m.sentMs } };
  }
}

type Decoded = { body?: string } & Partial<Record<RingFrame['body'], unknown>>;

export function fromFrame(input: unknown): RingMessage {
  const frame = input as Decoded;
  switch (frame.body) {
    case 'hello': {
      const h = present((frame as Extract<RingFrame, { body: 'hello' }>).hello, 'hello');
      return {
        kind: 'hello',
        from: h.from,
        protocol: h.protocol,
        members: h.members,
        hostsHash: h.hostsHash,
        bucketDigests: columnFromBytes(h.bucketDigests, Uint32Array, 'hello.bucketDigests'),
        // absent from an older node's hello: it understands none of the optional kinds
        ...(h.features && h.features.length > 0 ? { features: h.features } : {}),
      };
    }
    case 'state': {
      const s = present((frame as Extract<RingFrame, { body: 'state' }>).state, 'state');
      return {
        kind: 'state',
        hosts: s.hosts.map(hostFromFrame),
        users: usersFromFrame(s.users),
        buckets: s.buckets,
        last: s.last,
      };
    }
    case 'update': {
      const u = present((frame as Extract<RingFrame, { body: 'update' }>).update, 'update');
      return {
        kind: 'update',
        origin: u.origin,
        seq: u.seq,
        hosts: u.hosts.map(hostFromFrame),
        users: usersFromFrame(u.users),
        kicks: kicksFromFrame(u.kicks),
        kickUsers: u.kickUsers,
      };
    }
    case 'sync': {
      const s = present((frame as Extract<RingFrame, { body: 'sync' }>).sync, 'sync');
      return { kind: 'sync', origin: s.origin, seq: s.seq, hostsHash: s.hostsHash };
    }
    case 'member': {
      const mb = present((frame as Extract<RingFrame, { body: 'member' }>).member, 'member');
      return { kind: 'member', origin: mb.origin, seq: mb.seq, node: mb.node, removed: mb.removed };
    }
    case 'health': {
      const h = present((frame as Extract<RingFrame, { body: 'health' }>).health, 'health');
      return {
        kind: 'health',
        origin: h.origin,
        seq: h.seq,
        validMs: h.validMs,
        observations: h.observations.map((o) => ({ ip: o.ip, failing: o.failing, sinceMs: o.sinceMs })),
      };
    }
    case 'ping':
      return { kind: 'ping', sentMs: present((frame as Extract<RingFrame, { body: 'ping' }>).ping, 'ping').sentMs };
    case 'pong':
      return { kind: 'pong', sentMs: present((frame as Extract<RingFrame, { body: 'pong' }>).pong, 'pong').sentMs };
    default:
      // A newer peer's message kind: refusing it is safer than guessing what it meant.
      throw new FrameError(`frame without a known body (${String(frame.body)})`);
  }
}

function present<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new FrameError(`${field}: missing`);
  return value;
}

function hostToFrame(h: HostRecord): HostFrame {
  return {
    ip: h.ip,
    tag: h.tag,
    vhostCount: u32(h.vhostCount, 'host.vhostCount'),
    down: h.down,
    lastUpdownChange: int(h.lastUpdownChange, 'host.lastUpdownChange'),
    hostname: h.hostname,
    removed: h.removed,
    version: hlcToFrame(h.version),
    healthDown: h.healthDown === true,
  };
}

function hlcToFrame(v: Hlc): HlcFrame {
  return { ms: int(v.ms, 'hlc.ms'), counter: u32(v.counter, 'hlc.counter'), node: v.node };
}

function hostFromFrame(h: HostFrame): HostRecord {
  const v = present(h.version, `host ${h.ip}: version`);
  return {
    ip: h.ip,
    tag: h.tag,
    vhostCount: h.vhostCount,
    down: h.down,
    lastUpdownChange: h.lastUpdownChange,
    hostname: h.hostname,
    removed: h.removed,
    // only when set, so a record without the flag reads back exactly as it was written
    ...(h.healthDown ? { healthDown: true } : {}),
    version: { ms: v.ms, counter: v.counter, node: v.node },
  };
}

function usersToFrame(u: UserBatch): UserBatchFrame {
  const n = u.hashes.length;
  if (u.tagIndex.length !== n || u.hostIndex.length !== n || u.timestamps.length !== n || u.epochMs.length !== n) {
    throw new RangeError(
      `user batch columns differ in length: hashes ${n}, tagIndex ${u.tagIndex.length}, hostIndex ${u.hostIndex.length}, ` +
        `timestamps ${u.timestamps.length}, epochMs ${u.epochMs.length}`,
    );
  }
  return {
    tags: [...u.tags],
    hostIps: [...u.hostIps],
    tagIndex: columnBytes(u.tagIndex),
    hashes: columnBytes(u.hashes),
    hostIndex: columnBytes(u.hostIndex),
    timestamps: columnBytes(u.timestamps),
    epochMs: columnBytes(u.epochMs),
  };
}

const EMPTY = new Uint8Array(0);

function usersFromFrame(f: UserBatchFrame | null): UserBatch {
  // proto3 cannot tell an empty batch from an absent one; both mean "no users".
  const frame = f ?? {
    tags: [],
    hostIps: [],
    tagIndex: EMPTY,
    hashes: EMPTY,
    hostIndex: EMPTY,
    timestamps: EMPTY,
    epochMs: EMPTY,
  };
  const hashes = columnFromBytes(frame.hashes, Uint32Array, 'users.hashes');
  const tagIndex = columnFromBytes(frame.tagIndex, Uint16Array, 'users.tagIndex');
  const hostIndex = columnFromBytes(frame.hostIndex, Uint16Array, 'users.hostIndex');
  const timestamps = columnFromBytes(frame.timestamps, Uint32Array, 'users.timestamps');
  const epochMs = columnFromBytes(frame.epochMs, Float64Array, 'users.epochMs');
  const n = hashes.length;
  if (tagIndex.length !== n || hostIndex.length !== n || timestamps.length !== n || epochMs.length !== n) {
    throw new FrameError(`users: columns differ in length (${n} hashes)`);
  }
  checkIndices(tagIndex, frame.tags.length, 'users.tagIndex');
  checkIndices(hostIndex, frame.hostIps.length, 'users.hostIndex');
  return { tags: frame.tags, hostIps: frame.hostIps, tagIndex, hashes, hostIndex, timestamps, epochMs };
}

function kicksToFrame(kicks: readonly { readonly hash: number; readonly exceptHost: string }[]): KicksFrame {
  const hashes = new Uint32Array(kicks.length);
  const exceptIndex = new Uint16Array(kicks.length);
  const exceptHosts: string[] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < kicks.length; i++) {
    const kick = kicks[i] as (typeof kicks)[number];
    hashes[i] = u32(kick.hash, 'update.kicks.hash');
    let idx = indexOf.get(kick.exceptHost);
    if (idx === undefined) {
      idx = exceptHosts.push(kick.exceptHost) - 1;
      if (idx > 0xffff) throw new RangeError('update.kicks: more than 65536 distinct exceptHost values');
      indexOf.set(kick.exceptHost, idx);
    }
    exceptIndex[i] = idx;
  }
  return { hashes: columnBytes(hashes), exceptIndex: columnBytes(exceptIndex), exceptHosts };
}

function kicksFromFrame(f: KicksFrame | null): { hash: number; exceptHost: string }[] {
  if (!f) return [];
  const hashes = columnFromBytes(f.hashes, Uint32Array, 'kicks.hashes');
  const exceptIndex = columnFromBytes(f.exceptIndex, Uint16Array, 'kicks.exceptIndex');
  if (exceptIndex.length !== hashes.length) throw new FrameError('kicks: columns differ in length');
  checkIndices(exceptIndex, f.exceptHosts.length, 'kicks.exceptIndex');
  const out = new Array<{ hash: number; exceptHost: string }>(hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    out[i] = { hash: hashes[i] ?? 0, exceptHost: f.exceptHosts[exceptIndex[i] ?? 0] ?? '' };
  }
  return out;
}

/** The ring indexes the dictionaries without further checks, so a dangling index must stop here. */
function checkIndices(index: Uint16Array, size: number, field: string): void {
  let max = -1;
  for (let i = 0; i < index.length; i++) {
    const v = index[i] ?? 0;
    if (v > max) max = v;
  }
  if (max >= size) throw new FrameError(`${field}: index ${max} outside a dictionary of ${size}`);
}

function u32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`${field}: ${value} is not a uint32`);
  return value;
}

function int(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${field}: ${value} is not a safe integer`);
  return value;
}
