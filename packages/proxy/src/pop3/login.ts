import { routeAndConnect } from '../backend/route-and-connect.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { authFailureDelay } from '../session/auth-delay.js';
import { runProxiedSession } from '../session/proxied-session.js';
import { pop3BackendLogin } from './backend-login.js';
import { POP3 } from './replies.js';
import { readSaslResponse } from './sasl-response.js';
import type { Pop3Next, Pop3Session } from './state.js';

const BASE64_OR_CANCEL = /^(?:\*|[A-Za-z0-9+/]*={0,2})$/;

/**
 * Route the user, log in on the backend with the client's own credentials and, if the backend
 * agrees, hand the connection over to splicing. Anything short of the backend's verdict is a
 * temporary failure: the client stays in AUTHORIZATION and may try again.
 */
export async function loginAndProxy(session: Pop3Session, credentials: SaslCredentials): Promise<Pop3Next> {
  const { conn, ctx } = session;
  const routed = await routeAndConnect(ctx, conn.info, 'pop3', credentials.username);
  if (routed.kind !== 'ok') {
    conn.write(POP3.tempUnavailable);
    return 'continue';
  }
  const { backend, route } = routed;
  const fields = { session: conn.info.sessionId, protocol: 'pop3', userHash: route.userHash, backend: route.backend };
  let handedOver = false;
  try {
    const outcome = await pop3BackendLogin(backend, {
      ctx,
      info: conn.info,
      credentials,
      relayChallenge: async (line) => {
        conn.write(`${line}\r\n`);
        const response = await readSaslResponse(session);
        // the backend must never see bytes the client could not have meant as SASL
        return BASE64_OR_CANCEL.test(response) ? response : '*';
      },
    });
    if (outcome.kind === 'failed') {
      ctx.log.warn('backend login failed', { ...fields, reason: outcome.reason });
      conn.write(POP3.tempUnavailable);
      return 'continue';
    }
    if (outcome.kind === 'rejected') {
      backend.close();
      session.authFailures++;
      ctx.log.info('login rejected by backend', { ...fields, attempts: session.authFailures });
      await authFailureDelay(ctx.limits.authFailureDelayMs);
      conn.write(`${outcome.line}\r\n`);
      return session.authFailures >= ctx.limits.maxAuthAttempts ? 'close' : 'continue';
    }
    conn.write(`${outcome.line}\r\n`);
    handedOver = true;
    await runProxiedSession({ ctx, conn, backend, route, protocol: 'pop3', username: credentials.username });
    return 'proxied';
  } finally {
    if (!handedOver) backend.close();
  }
}
