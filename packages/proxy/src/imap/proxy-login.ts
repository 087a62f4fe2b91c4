import { routeAndConnect } from '../backend/route-and-connect.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { startProxiedSession } from '../session/proxied-session.js';
import { backendLogin } from './backend-login.js';
import type { CommandOutcome, ImapSession } from './commands/types.js';
import { REPLY } from './replies.js';

const CRLF = Buffer.from('\r\n');

/** The line a kicked session ends with; module-level so the session retains nothing of the login. */
function imapGoodbye(reason: string): string {
  return `* BYE ${reason}\r\n`;
}

/**
 * From known credentials to a proxied session: route, connect, let the backend judge the login,
 * and either splice the two sockets (`proxied`), or answer the client and stay pre-auth.
 */
export async function proxyLogin(s: ImapSession, tag: string, credentials: SaslCredentials): Promise<CommandOutcome> {
  const { conn, ctx } = s;
  const routed = await routeAndConnect(ctx, conn.info, 'imap', credentials.username);
  if (routed.kind !== 'ok') {
    // routeAndConnect has logged it; the client may try again on this connection
    ctx.events?.onLogin?.('imap', 'tempfail');
    s.tagged(tag, 'NO', REPLY.unavailable);
    return 'next';
  }
  const { route, backend } = routed;
  const fields = { session: conn.info.sessionId, userHash: route.userHash, backend: route.backend };
  let result: Awaited<ReturnType<typeof backendLogin>>;
  try {
    result = await backendLogin({ conn, ctx, backend, tag, credentials });
  } catch (e) {
    backend.close();
    throw e;
  }
  switch (result.kind) {
    case 'ok':
      if (conn.isClosed) {
        backend.close();
        ctx.log.info('imap client left during login', fields);
        return 'end';
      }
      conn.write(Buffer.concat([result.reply, CRLF]));
      ctx.log.info('imap login', { ...fields, mechanism: credentials.mechanism });
      ctx.events?.onLogin?.('imap', 'ok');
      startProxiedSession({
        ctx,
        conn,
        backend,
        route,
        protocol: 'imap',
        username: credentials.username,
        goodbye: imapGoodbye,
      });
      return 'proxied';
    case 'rejected':
      backend.close();
      ctx.log.info('imap login failed', fields);
      ctx.events?.onLogin?.('imap', 'failed');
      return s.loginFailed(Buffer.concat([result.reply, CRLF]));
    case 'client-gone':
      backend.close();
      ctx.log.info('imap client left during login', fields);
      s.close();
      return 'end';
    case 'failed':
      backend.close();
      ctx.log.warn('imap backend login failed', { ...fields, reason: result.reason });
      ctx.events?.onLogin?.('imap', 'tempfail');
      s.tagged(tag, 'NO', REPLY.unavailable);
      return 'next';
  }
}
