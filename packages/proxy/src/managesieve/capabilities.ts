import { DEFAULT_SIEVE_CAPABILITY } from '../context.js';
import { SASL_MECHANISMS } from '../sasl/sasl-exchange.js';
import { quoteSieve } from './parser.js';
import type { SieveSession } from './state.js';

/**
 * RFC 5804 §1.7 capability lines, as the greeting, CAPABILITY and the post-STARTTLS re-issue send
 * them. SASL is empty where no login may be attempted, so clients do not offer the password.
 */
export function sieveCapabilityLines(session: SieveSession): string {
  const { conn, ctx } = session;
  const caps = ctx.sieveCapability ?? DEFAULT_SIEVE_CAPABILITY;
  const lines = [
    '"IMPLEMENTATION" "Usher"',
    `"SIEVE" ${quoteSieve(caps.sieve)}`,
    ...(caps.notify ? [`"NOTIFY" ${quoteSieve(caps.notify)}`] : []),
    `"SASL" ${quoteSieve(conn.secured ? SASL_MECHANISMS.join(' ') : '')}`,
    ...(ctx.tls && !conn.tls ? ['"STARTTLS"'] : []),
    '"VERSION" "1.0"',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
