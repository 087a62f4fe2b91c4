import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ADMIN_PROTO_PATH = fileURLToPath(new URL('../../../../proto/usher/v1/admin.proto', import.meta.url));

// longs: Number: every int64 here is a unix time or a count, all safe integers. defaults: true so
// empty strings and lists arrive as '' and [] (proto3 optional fields stay absent when unset).
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let loaded: ServiceDefinition | undefined;

/** The usher.v1.DirectorAdmin service, loaded once from admin.proto. */
export function adminServiceDefinition(): ServiceDefinition {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(ADMIN_PROTO_PATH, LOADER_OPTIONS);
  const service = definition['usher.v1.DirectorAdmin'] as ServiceDefinition | undefined;
  if (!service) throw new Error(`${ADMIN_PROTO_PATH} has no usher.v1.DirectorAdmin`);
  loaded = service;
  return service;
}

// The message shapes proto-loader produces with LOADER_OPTIONS (camelCase fields).

export interface HostMessage {
  ip: string;
  vhostCount: number;
  users: number;
  tag: string;
  down: boolean;
  lastUpdownChange: number;
}

export interface HostChangeMessage {
  ip: string;
  tag: string;
  vhostCount?: number;
}

export interface UserLookupMessage {
  userHash: number;
  currentIp: string;
  expires: number;
  hashedIp: string;
  initialIp: string;
}

export interface UserBatchMessage {
  userHashes: number[];
  tags: string[];
  ips: string[];
  expires: number[];
}

export interface DirectorMessage {
  kind: string;
  ip: string;
  port: number;
  state: string;
  linkType: string;
  syncLagMs?: number;
  lastSyncMs: number;
  lastFailed: number;
  pingMs?: number;
  buffered: number;
  lastInput?: number;
  removed: boolean;
}
