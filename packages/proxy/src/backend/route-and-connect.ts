import { type Route, RoutingError } from '@usher/core';
import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ConnectionInfo } from '../net/client-connection.js';
import type { ProxyProtocol } from '../session/registry.js';
import { BackendConnection } from './backend-connection.js';

export type RouteFailure =
  /** No backend can be chosen now (no hosts for the tag, hash format failure, move in progress). */
  | { readonly kind: 'temporary'; readonly error: RoutingError }
  /** The chosen backend did not answer. */
  | { readonly kind: 'unavailable'; readonly route: Route; readonly error: ProxyError };

export type RouteResult =
  | { readonly kind: 'ok'; readonly route: Route; readonly backend: BackendConnection }
  | RouteFailure;

/**
 * Ask the router where this user goes and open a connection there. Failures come back as values
 * the protocol turns into its own temporary-failure reply; each is logged once here with the
 * session, user hash and backend.
 */
export async function routeAndConnect(
  ctx: ProxyContext,
  info: ConnectionInfo,
  protocol: ProxyProtocol,
  username: string,
): Promise<RouteResult> {
  const routed = await routeUser(ctx, info, protocol, username);
  if (routed.kind !== 'ok') return routed;
  return connectRoute(ctx, info, protocol, routed.route);
}

/**
 * The routing half of routeAndConnect, for sessions that may already hold a connection to the
 * chosen backend (LMTP: one connection per backend for all recipients of a transaction).
 */
export async function routeUser(
  ctx: ProxyContext,
  info: ConnectionInfo,
  protocol: ProxyProtocol,
  username: string,
): Promise<{ readonly kind: 'ok'; readonly route: Route } | Extract<RouteFailure, { kind: 'temporary' }>> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const route = await ctx.router.route(username, ctx.tag);
    ctx.events?.onRoute?.(protocol, seconds(), true);
    return { kind: 'ok', route };
  } catch (e) {
    ctx.events?.onRoute?.(protocol, seconds(), false);
    const error = e instanceof RoutingError ? e : new RoutingError('HASH_FAILED', (e as Error).message);
    ctx.log.warn('routing failed', { session: info.sessionId, protocol, code: error.code, reason: error.message });
    return { kind: 'temporary', error };
  }
}

/** The connecting half of routeAndConnect. */
export async function connectRoute(
  ctx: ProxyContext,
  info: ConnectionInfo,
  protocol: ProxyProtocol,
  route: Route,
): Promise<Exclude<RouteResult, { kind: 'temporary' }>> {
  try {
    const backend = await BackendConnection.open(
      { ip: route.backend, port: ctx.backendPorts[protocol], ...(ctx.backendTls ? { tls: ctx.backendTls } : {}) },
      { connectTimeoutMs: ctx.limits.backendConnectTimeoutMs, idleTimeoutMs: ctx.limits.backendLoginTimeoutMs },
    );
    return { kind: 'ok', route, backend };
  } catch (e) {
    const error = e instanceof ProxyError ? e : new ProxyError('BACKEND_CONNECT', (e as Error).message, {});
    ctx.log.error('backend unavailable', {
      session: info.sessionId,
      protocol,
      userHash: route.userHash,
      backend: route.backend,
      reason: error.message,
    });
    return { kind: 'unavailable', route, error };
  }
}
