import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import { SASL_MECHANISMS } from '../sasl/sasl-exchange.js';

const BASE = ['IMAP4rev1', 'SASL-IR', 'LOGIN-REFERRALS', 'ID', 'ENABLE', 'IDLE', 'LITERAL+'];

/**
 * What imap-login advertises before login. Every mechanism Usher can proxy sends a secret in
 * the clear, so on an insecure connection there is none and LOGINDISABLED says why.
 */
export function preAuthCapabilities(conn: ClientConnection, ctx: ProxyContext): string {
  const caps = [...BASE];
  if (ctx.tls && !conn.tls) caps.push('STARTTLS');
  if (conn.secured) caps.push(...SASL_MECHANISMS.map((m) => `AUTH=${m}`));
  else caps.push('LOGINDISABLED');
  return caps.join(' ');
}
