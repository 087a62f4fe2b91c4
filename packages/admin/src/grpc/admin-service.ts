import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { parseIp } from '@usher/core';
import type { DirectorAdminApi, DirectorRow } from '../director-admin/api.js';
import type { AdminLog } from '../director-admin/connection.js';
import { AdminRequestError, toAdminStatus } from './admin-errors.js';
import type {
  DirectorMessage,
  HostChangeMessage,
  HostMessage,
  UserBatchMessage,
  UserLookupMessage,
} from './admin-proto.js';
import type { AdminAuthenticator } from './auth.js';

/** USER-LIST entries per streamed message: ~40 bytes each, so a message stays far below gRPC's 4 MB. */
const USER_BATCH = 16384;

type Req = Record<string, unknown>;

/**
 * The DirectorAdmin service over a node's DirectorAdminApi. Every call is authenticated first;
 * arguments are checked as the socket checks them (an IP literal, a count), then the API decides.
 */
export function adminServiceImplementation(
  api: DirectorAdminApi,
  auth: AdminAuthenticator,
  log: AdminLog,
): UntypedServiceImplementation {
  const unary =
    <R>(method: string, run: (req: Req) => Promise<R>) =>
    (call: ServerUnaryCall<Req, R>, callback: sendUnaryData<R>): void => {
      const peer = call.getPeer();
      const refusal = auth.check(call.metadata, peer);
      if (refusal) {
        callback(refusal);
        return;
      }
      // a synchronous throw (a bad argument) fails the call like a rejected promise
      Promise.resolve(call.request)
        .then(run)
        .then(
          (reply) => callback(null, reply),
          (e: unknown) => {
            const s = toAdminStatus(e);
            if (s.code === status.INTERNAL) log.error('admin call failed', { method, peer, error: s.details });
            callback(s);
          },
        );
    };
  const done = async (p: Promise<void>) => {
    await p;
    return {};
  };
  return {
    HostList: unary('HostList', async (): Promise<{ hosts: HostMessage[] }> => ({ hosts: await api.hostList() })),
    HostListRemoved: unary('HostListRemoved', async () => ({ ips: await api.hostListRemoved() })),
    HostSet: unary('HostSet', (r) => done(api.hostSet(hostChange(r as unknown as HostChangeMessage)))),
    HostUpdate: unary('HostUpdate', (r) => {
      const c = hostChange(r as unknown as HostChangeMessage);
      if (c.vhostCount === undefined) throw new AdminRequestError('HostUpdate needs vhost_count');
      return done(api.hostUpdate({ ...c, vhostCount: c.vhostCount }));
    }),
    HostUp: unary('HostUp', async (r) => done(api.hostUp(ip(r.ip)))),
    HostDown: unary('HostDown', async (r) => done(api.hostDown(ip(r.ip)))),
    HostRemove: unary('HostRemove', async (r) => done(api.hostRemove(ip(r.ip)))),
    HostFlush: unary('HostFlush', async (r) => done(api.hostFlush(optionalIp(r.ip)))),
    HostResetUsers: unary('HostResetUsers', async (r) => {
      const max = r.maxParallel as number | undefined;
      if (max === 0) throw new AdminRequestError('max_parallel must be above 0');
      return api.hostResetUsers(optionalIp(r.ip), max);
    }),
    UserLookup: unary('UserLookup', async (r): Promise<UserLookupMessage> => {
      const l = await api.userLookup(String(r.user), String(r.tag));
      return {
        userHash: l.userHash,
        currentIp: l.current?.ip ?? '',
        expires: l.current?.expires ?? 0,
        hashedIp: l.hashedIp,
        initialIp: l.initialIp,
      };
    }),
    UserList: (call: ServerWritableStream<Req, UserBatchMessage>) => {
      const refusal = auth.check(call.metadata, call.getPeer());
      if (refusal) {
        // grpc-js ends a server stream with a status through its 'error' event
        call.emit('error', refusal);
        return;
      }
      streamUsers(api, call).catch((e: unknown) => call.emit('error', toAdminStatus(e)));
    },
    UserMove: unary('UserMove', async (r) => done(api.userMove(String(r.user), ip(r.ip)))),
    UserKick: unary('UserKick', async (r) => {
      if (r.user === '') throw new AdminRequestError('UserKick needs a user');
      return done(api.userKick(String(r.user), r.nowait === true));
    }),
    UserKickAlt: unary('UserKickAlt', async (r) =>
      done(api.userKickAlt(String(r.field), String(r.value), r.nowait === true)),
    ),
    DirectorList: unary('DirectorList', async () => ({ directors: (await api.directorList()).map(directorMessage) })),
    DirectorAdd: unary('DirectorAdd', async (r) => done(api.directorAdd(ip(r.ip), port(r.port)))),
    DirectorRemove: unary('DirectorRemove', async (r) => done(api.directorRemove(ip(r.ip), port(r.port)))),
  };
}

async function streamUsers(api: DirectorAdminApi, call: ServerWritableStream<Req, UserBatchMessage>): Promise<void> {
  const users = await api.userList(optionalIp(call.request.ip));
  for (let i = 0; i < users.length; i += USER_BATCH) {
    const slice = users.slice(i, i + USER_BATCH);
    const batch: UserBatchMessage = {
      userHashes: slice.map((u) => u.userHash),
      tags: slice.map((u) => u.tag),
      ips: slice.map((u) => u.ip),
      expires: slice.map((u) => u.expires),
    };
    if (!call.write(batch)) await new Promise((resolve) => call.once('drain', resolve));
    if (call.cancelled) return;
  }
  call.end();
}

function ip(value: unknown): string {
  const parsed = typeof value === 'string' ? parseIp(value) : undefined;
  if (!parsed) throw new AdminRequestError(`not an IP address: ${JSON.stringify(value)}`);
  return parsed.text;
}

function optionalIp(value: unknown): string | undefined {
  return value === '' || value === undefined ? undefined : ip(value);
}

function port(value: unknown): number | undefined {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new AdminRequestError(`not a port: ${String(value)}`);
  return n === 0 ? undefined : n;
}

function hostChange(m: HostChangeMessage): { ip: string; tag: string; vhostCount?: number } {
  return {
    ip: ip(m.ip),
    tag: m.tag,
    ...(m.vhostCount === undefined || m.vhostCount === null ? {} : { vhostCount: m.vhostCount }),
  };
}

export function directorMessage(row: DirectorRow): DirectorMessage {
  const base = { ip: row.ip, port: row.port, lastSyncMs: 0, lastFailed: 0, buffered: 0, linkType: '', removed: false };
  switch (row.kind) {
    case 'self':
      return {
        ...base,
        kind: 'self',
        state: row.ring,
        lastSyncMs: row.lastSyncMs,
        ...(row.syncLagMs === undefined ? {} : { syncLagMs: row.syncLagMs }),
      };
    case 'link':
      return {
        ...base,
        kind: 'link',
        state: row.state,
        linkType: row.type,
        lastFailed: row.lastFailed,
        buffered: row.buffered,
        ...(row.pingMs === undefined ? {} : { pingMs: Math.round(row.pingMs) }),
        ...(row.lastInput === undefined ? {} : { lastInput: row.lastInput }),
      };
    case 'member':
      return { ...base, kind: 'member', state: row.state, lastFailed: row.lastFailed, removed: row.removed };
  }
}
