import { SASL_MECHANISMS } from '../../sasl/sasl-exchange.js';
import type { Pop3Handler, Pop3Session } from '../state.js';

/**
 * RFC 2449 capabilities before login. USER and SASL appear only where a login may be attempted
 * (RFC 2595 §4: no plaintext on an unsecured connection), so clients do not offer the password.
 */
export function pop3Capabilities(session: Pop3Session): string[] {
  const { conn, ctx } = session;
  const caps = ['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE'];
  if (ctx.tls && !conn.tls) caps.push('STLS');
  if (conn.secured) caps.push('USER', `SASL ${SASL_MECHANISMS.join(' ')}`);
  return caps;
}

export const capa: Pop3Handler = async (session) => {
  session.conn.write(`+OK\r\n${pop3Capabilities(session).join('\r\n')}\r\n.\r\n`);
  return 'continue';
};
