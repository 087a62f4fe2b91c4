import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The RingFrame shape that @grpc/proto-loader produces with LOADER_OPTIONS, written by hand
 * instead of generated: the proto is small and this keeps the build free of a codegen step.
 * Inbound frames come from peers, so fromFrame (codec.ts) treats every field as untrusted.
 */

/** Same relative depth from src/grpc and dist/grpc. */
export const RING_PROTO_PATH = fileURLToPath(new URL('../../../../proto/usher/v1/ring.proto', import.meta.url));

// longs: Number because every int64 the ring sends is a safe integer; defaults: true so an
// empty repeated/bytes field arrives as [] / empty Buffer rather than undefined.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface HlcFrame {
  ms: number;
  counter: number;
  node: string;
}

export interface HostFrame {
  ip: string;
  tag: string;
  vhostCount: number;
  down: boolean;
  lastUpdownChange: number;
  hostname: string;
  removed: boolean;
  version: HlcFrame | null;
  /** Optional here only so frames can be written without it; decoding always yields it (defaults). */
  healthDown?: boolean;
}

export interface UserBatchFrame {
  tags: string[];
  hostIps: string[];
  tagIndex: Uint8Array;
  hashes: Uint8Array;
  hostIndex: Uint8Array;
  timestamps: Uint8Array;
  epochMs: Uint8Array;
}

export interface KicksFrame {
  hashes: Uint8Array;
  exceptIndex: Uint8Array;
  exceptHosts: string[];
}

export interface HelloFrame {
  from: string;
  protocol: number;
  members: string[];
  hostsHash: number;
  bucketDigests: Uint8Array;
  /** Optional here only so frames can be written without it; decoding always yields it (defaults). */
  features?: string[];
}

export interface StateFrame {
  hosts: HostFrame[];
  users: UserBatchFrame | null;
  buckets: number[];
  last: boolean;
}

export interface UpdateFrame {
  origin: string;
  seq: number;
  hosts: HostFrame[];
  users: UserBatchFrame | null;
  kicks: KicksFrame | null;
  kickUsers: string[];
}

export interface SyncFrame {
  origin: string;
  seq: number;
  hostsHash: number;
}

export interface MemberFrame {
  origin: string;
  seq: number;
  node: string;
  removed: boolean;
}

export interface HealthObservationFrame {
  ip: string;
  failing: boolean;
  sinceMs: number;
}

export interface HealthFrame {
  origin: string;
  seq: number;
  validMs: number;
  observations: HealthObservationFrame[];
}

export interface PingFrame {
  sentMs: number;
}

export type RingFrame =
  | { body: 'hello'; hello: HelloFrame }
  | { body: 'state'; state: StateFrame }
  | { body: 'update'; update: UpdateFrame }
  | { body: 'sync'; sync: SyncFrame }
  | { body: 'member'; member: MemberFrame }
  | { body: 'ping'; ping: PingFrame }
  | { body: 'pong'; pong: PingFrame }
  | { body: 'health'; health: HealthFrame };

interface RingProto {
  readonly service: ServiceDefinition;
  readonly serialize: (frame: RingFrame) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
}

let loaded: RingProto | undefined;

function ringProto(): RingProto {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(RING_PROTO_PATH, LOADER_OPTIONS);
  const service = definition['usher.v1.Ring'] as ServiceDefinition | undefined;
  const link = service?.Link;
  if (!link) throw new Error(`${RING_PROTO_PATH} has no usher.v1.Ring/Link`);
  const identity = (b: Buffer): Buffer => b;
  loaded = {
    // The transport moves already-encoded Buffers so it can count queued bytes exactly and
    // refuse oversized frames before gRPC kills the whole call over them.
    service: {
      Link: {
        ...link,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    serialize: link.requestSerialize as (frame: RingFrame) => Buffer,
    deserialize: link.requestDeserialize as (bytes: Buffer) => unknown,
  };
  return loaded;
}

/** grpc-js service definition of usher.v1.Ring whose messages are raw encoded RingFrames. */
export function ringServiceDefinition(): ServiceDefinition {
  return ringProto().service;
}

export function encodeFrame(frame: RingFrame): Buffer {
  return ringProto().serialize(frame);
}

/** Parses protobuf; the result still needs fromFrame's checks before anyone trusts it. */
export function decodeFrame(bytes: Buffer): unknown {
  return ringProto().deserialize(bytes);
}
