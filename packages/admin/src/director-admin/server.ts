import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { UsherError } from '@usher/core';
import type { DirectorAdminApi } from './api.js';
import { AdminConnection, type AdminLog } from './connection.js';

export interface DirectorAdminSocketOptions {
  /** UNIX socket path (Dovecot: base_dir/director-admin). */
  readonly path?: string;
  /** Permissions of the UNIX socket; default 0600 (only the node's user may administer it). */
  readonly mode?: number;
  /** TCP listener: no authentication, so the address defaults to loopback. */
  readonly tcp?: { readonly address?: string; readonly port: number };
  readonly api: DirectorAdminApi;
  readonly log: AdminLog;
}

export interface DirectorAdminSocket {
  /** Where it listens: the socket path and/or "address:port". */
  readonly endpoints: readonly string[];
  /** Stop accepting, drop open connections (a running command finishes unanswered), remove the socket file. */
  close(): Promise<void>;
}

export class AdminSocketError extends UsherError {
  constructor(code: 'IN_USE' | 'NOT_A_SOCKET' | 'LISTEN', message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
  }
}

/**
 * Serve the director-admin protocol on a UNIX socket and/or TCP. The UNIX socket is created under
 * a temporary name, given its mode, then renamed into place: it is never reachable with looser
 * permissions. A stale socket left by a dead process is replaced; a live one is an error.
 */
export async function startDirectorAdminSocket(opts: DirectorAdminSocketOptions): Promise<DirectorAdminSocket> {
  const connections = new Set<AdminConnection>();
  const onConnection = (socket: Socket) => {
    const conn = new AdminConnection(socket, opts.api, opts.log);
    connections.add(conn);
    void conn.done.then(() => connections.delete(conn));
  };
  const servers: Server[] = [];
  const endpoints: string[] = [];
  let unixSocket: { path: string; ino: number } | undefined;
  const closeAll = async () => {
    // close() only stops accepting; its callback waits for open connections, so drop them first
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const c of connections) c.destroy();
    await Promise.all(closed);
    if (unixSocket) removeIfOurs(unixSocket.path, unixSocket.ino);
  };
  try {
    if (opts.path !== undefined) {
      const server = createServer(onConnection);
      servers.push(server);
      unixSocket = await listenUnix(server, opts.path, opts.mode ?? 0o600);
      endpoints.push(opts.path);
    }
    if (opts.tcp !== undefined) {
      const server = createServer(onConnection);
      servers.push(server);
      const address = opts.tcp.address ?? '127.0.0.1';
      await listen(server, { host: address, port: opts.tcp.port });
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : opts.tcp.port;
      endpoints.push(`${address.includes(':') ? `[${address}]` : address}:${port}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return { endpoints, close: closeAll };
}

async function listenUnix(server: Server, path: string, mode: number): Promise<{ path: string; ino: number }> {
  const dir = dirname(path);
  await refuseLiveSocket(path);
  // bound in a private directory first: nobody can connect before the mode is set
  let tmpDir: string;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    tmpDir = mkdtempSync(join(dir, `.${basename(path)}.`));
  } catch (e) {
    throw new AdminSocketError('LISTEN', `cannot create ${path}: ${(e as Error).message}`, { path });
  }
  const tmpPath = join(tmpDir, 'socket');
  try {
    await listen(server, { path: tmpPath });
    await chmod(tmpPath, mode);
    renameSync(tmpPath, path);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  return { path, ino: statSync(path).ino };
}

/** A socket someone answers on is theirs; one nobody answers on is a leftover of a dead process. */
async function refuseLiveSocket(path: string): Promise<void> {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new AdminSocketError('NOT_A_SOCKET', `${path} exists and is not a socket`, { path });
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new AdminSocketError('IN_USE', `${path} is in use by another process`, { path });
  unlinkSync(path);
}

function listen(server: Server, where: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      reject(
        new AdminSocketError('LISTEN', `cannot listen on ${describe(where)}: ${e.message}`, { where: describe(where) }),
      );
    };
    server.once('error', onError);
    server.listen(where, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function describe(where: { path: string } | { host: string; port: number }): string {
  return 'path' in where ? where.path : `${where.host}:${where.port}`;
}

/** Only our own socket is removed: another node may have replaced it meanwhile. */
function removeIfOurs(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}
