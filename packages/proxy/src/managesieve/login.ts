import { routeAndConnect } from '../backend/route-and-connect.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { authFailureDelay } from '../session/auth-delay.js';
import { runProxiedSession } from '../session/proxied-session.js';
import { sieveBackendLogin } from './backend-login.js';
import { quoteSieve, readSieveString } from './parser.js';
import { SIEVE } from './replies.js';
import { literalLimit, type SieveNext, type SieveSession } from './state.js';

const BASE64_OR_CANCEL = /^(?:\*|[A-Za-z0-9+/]*={0,2})$/;

/**
 * Route, log in on the backend with the client's own exchange, relay its verdict and, on OK,
 * splice. Short of a verdict the client hears TRYLATER and stays unauthenticated.
 */
export async function loginAndProxy(session: SieveSession, credentials: SaslCredentials): Promise<SieveNext> {
  const { conn, ctx } = session;
  const routed = await routeAndConnect(ctx, conn.info, 'managesieve', credentials.username);
  if (routed.kind !== 'ok') {
    conn.write(SIEVE.tempUnavailable);
    return 'continue';
  }
  const { backend, route } = routed;
  const fields = {
    session: conn.info.sessionId,
    protocol: 'managesieve',
    userHash: route.userHash,
    backend: route.backend,
  };
  let handedOver = false;
  try {
    const outcome = await sieveBackendLogin(backend, {
      ctx,
      info: conn.info,
      credentials,
      relayChallenge: async (raw) => {
        conn.write(raw);
        const response = await readSieveString(conn.reader, literalLimit(session));
        // the backend must never see bytes the client could not have meant as SASL
        return BASE64_OR_CANCEL.test(response) ? response : '*';
      },
    });
    if (outcome.kind === 'failed') {
      ctx.log.warn('backend login failed', { ...fields, reason: outcome.reason });
      conn.write(SIEVE.tempUnavailable);
      return 'continue';
    }
    if (outcome.kind === 'rejected') {
      backend.close();
      session.authFailures++;
      ctx.log.info('login rejected by backend', { ...fields, attempts: session.authFailures });
      await authFailureDelay(ctx.limits.authFailureDelayMs);
      conn.write(outcome.raw);
      return session.authFailures >= ctx.limits.maxAuthAttempts ? 'close' : 'continue';
    }
    conn.write(outcome.raw);
    handedOver = true;
    await runProxiedSession({
      ctx,
      conn,
      backend,
      route,
      protocol: 'managesieve',
      username: credentials.username,
      goodbye: (reason) => `BYE ${quoteSieve(reason)}\r\n`,
    });
    return 'proxied';
  } finally {
    if (!handedOver) backend.close();
  }
}
