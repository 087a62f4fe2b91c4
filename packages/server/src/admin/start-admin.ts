import {
  AdminSocketError,
  type DirectorAdminApi,
  type DirectorAdminSocket,
  startDirectorAdminSocket,
} from '@usher/admin';
import { parseIp, parseMailServers, resolveMailServers, type UserHasher } from '@usher/core';
import type { RingNode } from '@usher/ring';
import { ConfigError, type UsherConfig } from '../config/load-config.js';
import type { UsherLogger } from '../log/logger.js';
import { dnsResolve } from '../net/dns.js';
import { RingAdminApi } from './ring-admin-api.js';

/** Dovecot's base_dir/director-admin, where doveadm and poolmon look without -a/-S. */
export const DEFAULT_ADMIN_SOCKET = '/run/dovecot/director-admin';

/** The node's admin API, shared by the director-admin socket and the gRPC admin service. */
export async function createAdminApi(opts: {
  config: UsherConfig;
  ring: RingNode;
  hasher: UserHasher;
  log: UsherLogger;
}): Promise<RingAdminApi> {
  const { config } = opts;
  const configured = () => resolveMailServers(parseMailServers(config.directorMailServers), dnsResolve);
  return new RingAdminApi({
    ring: opts.ring,
    hasher: opts.hasher,
    initialHosts: await configured(),
    configuredHosts: configured,
    maxParallelKicks: config.ring.maxParallelKicks,
    maxParallelMoves: config.ring.maxParallelMoves,
    log: opts.log,
  });
}

/**
 * Serve director-admin for this node (director_admin_socket, director_admin_tcp). An explicitly
 * configured endpoint that cannot be opened stops the node; the default socket path is shared by
 * every usherd on a host, so when another one holds it this node runs without it and says so.
 */
export async function startDirectorAdmin(opts: {
  config: UsherConfig;
  api: DirectorAdminApi;
  log: UsherLogger;
}): Promise<DirectorAdminSocket | undefined> {
  const { config, api, log } = opts;
  const { socket, socketMode, tcp: tcpSpec } = config.directorAdmin;
  const tcp = parseAdminTcp(tcpSpec);
  if (socket === '' && !tcp) return undefined;
  if (tcp && !isLoopback(tcp.address)) {
    log.warn('director-admin listens on a non-loopback address without authentication', { address: tcp.address });
  }
  const open = (path: string | undefined) =>
    startDirectorAdminSocket({
      ...(path === undefined ? {} : { path, mode: socketMode }),
      ...(tcp ? { tcp } : {}),
      api,
      log,
    });
  let admin: DirectorAdminSocket;
  try {
    admin = await open(socket === '' ? undefined : socket);
  } catch (e) {
    if (!(e instanceof AdminSocketError) || socket !== DEFAULT_ADMIN_SOCKET) throw e;
    log.warn('director-admin socket not available, running without it (set director_admin_socket)', {
      path: socket,
      error: e.message,
    });
    if (!tcp) return undefined;
    admin = await open(undefined);
  }
  log.info('director-admin listening', { endpoints: admin.endpoints });
  return admin;
}

/** "" = off; "port" or ":port" = loopback; "address:port" or "[v6]:port" as given. */
export function parseAdminTcp(spec: string): { address: string; port: number } | undefined {
  if (spec === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(spec) ?? /^()()(\d+)$/.exec(spec);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const ip = host === '' ? parseIp('127.0.0.1') : parseIp(host);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !ip || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`director_admin_tcp must be "port" or "address:port": ${spec}`, {
      setting: 'director_admin_tcp',
    });
  }
  return { address: ip.text, port };
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
