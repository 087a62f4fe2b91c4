import type { BackendConnection } from '../backend/backend-connection.js';
import type { BackendLoginOutcome } from '../backend/backend-login-outcome.js';
import { routeAndConnect } from '../backend/route-and-connect.js';
import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { authFailureDelay } from './auth-delay.js';
import { startProxiedSession } from './proxied-session.js';
import type { ProxyProtocol } from './registry.js';

export interface LoginSession {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  authFailures: number;
}

export interface LoginFlow {
  readonly protocol: ProxyProtocol;
  /** The protocol's temporary-failure reply (routing failed, backend down or misbehaving). */
  readonly tempUnavailable: string;
  /** The protocol's backend login: greeting, address forwarding, replay of the client's exchange. */
  readonly backendLogin: (backend: BackendConnection) => Promise<BackendLoginOutcome>;
  /** Line written to a kicked session, if the protocol has one. */
  readonly goodbye?: (reason: string) => string;
}

/**
 * Route the user, let the backend judge the client's own credentials, relay its verdict and, on OK,
 * splice. Anything short of a verdict is a temporary failure; a rejection is answered after the
 * auth-failure delay. Either way the client stays unauthenticated and may try again.
 */
export async function loginAndProxy(
  session: LoginSession,
  credentials: SaslCredentials,
  flow: LoginFlow,
): Promise<'continue' | 'close' | 'proxied'> {
  const { conn, ctx } = session;
  const routed = await routeAndConnect(ctx, conn.info, flow.protocol, credentials.username);
  if (routed.kind !== 'ok') {
    ctx.events?.onLogin?.(flow.protocol, 'tempfail');
    conn.write(flow.tempUnavailable);
    return 'continue';
  }
  const { backend, route } = routed;
  const fields = {
    session: conn.info.sessionId,
    protocol: flow.protocol,
    userHash: route.userHash,
    backend: route.backend,
  };
  let handedOver = false;
  try {
    const outcome = await flow.backendLogin(backend);
    if (outcome.kind === 'failed') {
      ctx.log.warn('backend login failed', { ...fields, reason: outcome.reason });
      ctx.events?.onLogin?.(flow.protocol, 'tempfail');
      conn.write(flow.tempUnavailable);
      return 'continue';
    }
    if (outcome.kind === 'rejected') {
      backend.close();
      session.authFailures++;
      ctx.log.info('login rejected by backend', { ...fields, attempts: session.authFailures });
      ctx.events?.onLogin?.(flow.protocol, 'failed');
      await authFailureDelay(ctx.limits.authFailureDelayMs);
      conn.write(outcome.reply);
      return session.authFailures >= ctx.limits.maxAuthAttempts ? 'close' : 'continue';
    }
    conn.write(outcome.reply);
    ctx.events?.onLogin?.(flow.protocol, 'ok');
    handedOver = true;
    startProxiedSession({
      ctx,
      conn,
      backend,
      route,
      protocol: flow.protocol,
      username: credentials.username,
      ...(flow.goodbye ? { goodbye: flow.goodbye } : {}),
    });
    return 'proxied';
  } finally {
    if (!handedOver) backend.close();
  }
}
