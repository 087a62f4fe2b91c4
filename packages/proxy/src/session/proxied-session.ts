import type { Route } from '@usher/core';
import type { BackendConnection } from '../backend/backend-connection.js';
import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { ProxyProtocol } from './registry.js';
import { startSplice } from './splice.js';

export interface ProxiedSessionOptions {
  readonly ctx: ProxyContext;
  readonly conn: ClientConnection;
  readonly backend: BackendConnection;
  readonly route: Route;
  readonly protocol: ProxyProtocol;
  /** The user the session belongs to (what USER-KICK matches). */
  readonly username: string;
  /** The client's last line when the session is kicked; undefined: the protocol has none, just close. */
  readonly goodbye?: (reason: string) => string | undefined;
}

/**
 * The logged-in phase every protocol shares: register the session so it can be kicked, splice the
 * sockets (read-ahead bytes of both readers included, so pipelined commands are not lost) and
 * unregister once both sides are closed. Resolves when the session is over; never rejects.
 */
export async function runProxiedSession(opts: ProxiedSessionOptions): Promise<void> {
  const { ctx, conn, backend, route } = opts;
  const toBackend = conn.reader.detach();
  const toClient = backend.reader.detach();
  const client = conn.socket;
  const fields = {
    session: conn.info.sessionId,
    protocol: opts.protocol,
    userHash: route.userHash,
    backend: route.backend,
  };
  const spliced = startSplice(client, backend.socket, { toBackend, toClient }, backend.reads);
  const goodbye = opts.goodbye;
  const unregister = ctx.registry.add({
    id: conn.info.sessionId,
    protocol: opts.protocol,
    username: opts.username,
    userHash: route.userHash,
    tag: route.tag,
    backend: route.backend,
    clientIp: conn.info.clientIp,
    kick(reason) {
      ctx.log.info('session kicked', { ...fields, reason });
      const line = goodbye?.(reason);
      // the backend goes first so nothing it still sends can follow the goodbye
      spliced.stopBackend();
      backend.close();
      if (line !== undefined && !client.destroyed) client.end(line);
      else client.end();
      setTimeout(() => client.destroy(), 2000).unref();
    },
  });
  ctx.log.info('proxying', fields);
  try {
    const bytes = await spliced.done;
    ctx.log.info('session closed', { ...fields, ...bytes });
  } finally {
    unregister();
  }
}
