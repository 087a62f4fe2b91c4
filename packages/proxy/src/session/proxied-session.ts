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
 * unregister once both sides are closed. Returns at once: the pre-auth code that called it (its
 * async frames, the parsed login with the password, the line readers) is then free to be collected
 * while the session runs, which is most of an idle session's memory.
 */
export function startProxiedSession(opts: ProxiedSessionOptions): void {
  const { ctx, conn, backend, route } = opts;
  const toBackend = conn.handOff();
  const toClient = backend.handOff();
  const client = conn.socket;
  const fields = {
    session: conn.info.sessionId,
    protocol: opts.protocol,
    userHash: route.userHash,
    backend: route.backend,
  };
  let unregister: (() => void) | undefined;
  let over = false;
  const spliced = startSplice(client, backend.socket, { toBackend, toClient }, backend.reads, (bytes) => {
    over = true;
    unregister?.();
    ctx.log.info('session closed', { ...fields, ...bytes });
  });
  // a side that was gone already ends the splice at once: nothing left to register
  if (over) return;
  const goodbye = opts.goodbye;
  unregister = ctx.registry.add({
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
}
