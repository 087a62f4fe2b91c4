import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type {
  DirectorAdminApi,
  DirectorRow,
  HostChange,
  HostInfo,
  ResetUsersResult,
  UserEntry,
  UserLookup,
} from '../director-admin/api.js';
import { fromServiceError } from './admin-errors.js';
import type { DirectorMessage, HostMessage, UserBatchMessage, UserLookupMessage } from './admin-proto.js';
import { adminServiceDefinition } from './admin-proto.js';

export interface AdminGrpcClientOptions {
  /** "host:port" or "[v6]:port". */
  readonly target: string;
  /** CA that signed the node's admin certificate; absent = plaintext (loopback only, server-enforced). */
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly token?: string;
  /** Per call; a flush of many users may take long. Default 10 minutes. */
  readonly deadlineMs?: number;
}

// An IP is not a valid TLS server name (RFC 6066); the name sent is this, and the certificate is
// checked against the dialled address instead.
const SNI_NAME = 'usher-admin';

/**
 * DirectorAdminApi over gRPC: the same calls a node's director-admin socket makes on its API,
 * with the same typed errors, so a front end cannot tell a remote node from a local one.
 */
export class GrpcDirectorAdminApi implements DirectorAdminApi {
  readonly target: string;
  readonly #client: grpc.Client;
  readonly #metadata: grpc.Metadata;
  readonly #deadlineMs: number;
  readonly #service = adminServiceDefinition();

  constructor(opts: AdminGrpcClientOptions) {
    this.target = opts.target;
    const host = hostOf(opts.target);
    const tls = opts.tls;
    const credentials = tls
      ? grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null, {
          checkServerIdentity: (_servername, cert) => checkServerIdentity(host, cert),
        })
      : grpc.credentials.createInsecure();
    const target = isIP(host) === 6 ? `ipv6:[${host}]:${portOf(opts.target)}` : opts.target;
    this.#client = new grpc.Client(target, credentials, {
      ...(tls && isIP(host) !== 0 ? { 'grpc.ssl_target_name_override': SNI_NAME } : {}),
      'grpc.enable_retries': 0,
    });
    this.#metadata = new grpc.Metadata();
    if (opts.token !== undefined) this.#metadata.set('authorization', `Bearer ${opts.token}`);
    this.#deadlineMs = opts.deadlineMs ?? 600_000;
  }

  close(): void {
    this.#client.close();
  }

  async hostList(): Promise<HostInfo[]> {
    return (await this.#call<{ hosts: HostMessage[] }>('HostList', {})).hosts;
  }

  async hostListRemoved(): Promise<string[]> {
    return (await this.#call<{ ips: string[] }>('HostListRemoved', {})).ips;
  }

  async hostSet(change: HostChange): Promise<void> {
    await this.#call('HostSet', change);
  }

  async hostUpdate(change: HostChange & { readonly vhostCount: number }): Promise<void> {
    await this.#call('HostUpdate', change);
  }

  async hostUp(ip: string): Promise<void> {
    await this.#call('HostUp', { ip });
  }

  async hostDown(ip: string): Promise<void> {
    await this.#call('HostDown', { ip });
  }

  async hostRemove(ip: string): Promise<void> {
    await this.#call('HostRemove', { ip });
  }

  async hostFlush(ip?: string): Promise<void> {
    await this.#call('HostFlush', { ip: ip ?? '' });
  }

  hostResetUsers(ip?: string, maxParallel?: number): Promise<ResetUsersResult> {
    return this.#call('HostResetUsers', { ip: ip ?? '', ...(maxParallel === undefined ? {} : { maxParallel }) });
  }

  async userLookup(userOrHash: string, tag: string): Promise<UserLookup> {
    const r = await this.#call<UserLookupMessage>('UserLookup', { user: userOrHash, tag });
    return {
      userHash: r.userHash,
      current: r.currentIp === '' ? undefined : { ip: r.currentIp, expires: r.expires },
      hashedIp: r.hashedIp,
      initialIp: r.initialIp,
    };
  }

  userList(ip?: string): Promise<UserEntry[]> {
    const method = this.#service.UserList as grpc.MethodDefinition<object, UserBatchMessage>;
    const call = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { ip: ip ?? '' },
      this.#metadata,
      { deadline: Date.now() + this.#deadlineMs },
    );
    const users: UserEntry[] = [];
    return new Promise((resolve, reject) => {
      call.on('data', (b: UserBatchMessage) => {
        for (let i = 0; i < b.userHashes.length; i++) {
          users.push({
            userHash: b.userHashes[i] as number,
            tag: b.tags[i] ?? '',
            ip: b.ips[i] ?? '',
            expires: b.expires[i] ?? 0,
          });
        }
      });
      call.on('error', (e: grpc.ServiceError) => reject(fromServiceError(e)));
      call.on('end', () => resolve(users));
    });
  }

  async userMove(userOrHash: string, ip: string): Promise<void> {
    await this.#call('UserMove', { user: userOrHash, ip });
  }

  async userKick(user: string, nowait: boolean): Promise<void> {
    await this.#call('UserKick', { user, nowait });
  }

  async userKickAlt(field: string, value: string, nowait: boolean): Promise<void> {
    await this.#call('UserKickAlt', { field, value, nowait });
  }

  async directorList(): Promise<DirectorRow[]> {
    return (await this.#call<{ directors: DirectorMessage[] }>('DirectorList', {})).directors.map(directorRow);
  }

  async directorAdd(ip: string, port?: number): Promise<void> {
    await this.#call('DirectorAdd', { ip, port: port ?? 0 });
  }

  async directorRemove(ip: string, port?: number): Promise<void> {
    await this.#call('DirectorRemove', { ip, port: port ?? 0 });
  }

  #call<R>(name: string, request: object): Promise<R> {
    const method = this.#service[name] as grpc.MethodDefinition<object, R> | undefined;
    if (!method) return Promise.reject(new Error(`admin.proto has no method ${name}`));
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata,
        { deadline: Date.now() + this.#deadlineMs },
        (err, reply) => (err ? reject(fromServiceError(err)) : resolve(reply as R)),
      );
    });
  }
}

function directorRow(m: DirectorMessage): DirectorRow {
  switch (m.kind) {
    case 'self':
      return {
        kind: 'self',
        ip: m.ip,
        port: m.port,
        ring: m.state as 'handshaking' | 'synced' | 'syncing',
        syncLagMs: m.syncLagMs,
        lastSyncMs: m.lastSyncMs,
      };
    case 'link':
      return {
        kind: 'link',
        ip: m.ip,
        port: m.port,
        type: m.linkType as 'left' | 'right' | 'in' | 'out',
        lastFailed: m.lastFailed,
        state: m.state as 'handshaking' | 'synced' | 'syncing',
        pingMs: m.pingMs,
        buffered: m.buffered,
        lastInput: m.lastInput,
      };
    default:
      return {
        kind: 'member',
        ip: m.ip,
        port: m.port,
        removed: m.removed,
        lastFailed: m.lastFailed,
        state: m.state as 'idle' | 'connecting' | 'failed',
      };
  }
}

function hostOf(target: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(target) ?? /^([^:]+):\d+$/.exec(target);
  if (!m) throw new RangeError(`admin gRPC target must be host:port or [v6]:port: ${target}`);
  return m[1] as string;
}

function portOf(target: string): string {
  return target.slice(target.lastIndexOf(':') + 1);
}
