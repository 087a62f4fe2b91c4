import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import { SASL_MECHANISMS } from '../sasl/sasl-exchange.js';

const BASE = ['IMAP4rev1', 'SASL-IR', 'LOGIN-REFERRALS', 'ID', 'ENABLE', 'IDLE', 'LITERAL+'];

function capabilityList(starttls: boolean, secured: boolean): string {
  const list = [...BASE];
  if (starttls) list.push('STARTTLS');
  if (secured) list.push(...SASL_MECHANISMS.map((m) => `AUTH=${m}`));
  else list.push('LOGINDISABLED');
  return list.join(' ');
}

/** The only four lists there are, indexed by (STARTTLS offered ? 1 : 0) | (secured ? 2 : 0). */
const LISTS = [
  capabilityList(false, false),
  capabilityList(true, false),
  capabilityList(false, true),
  capabilityList(true, true),
] as const;

/**
 * What imap-login advertises before login. Every mechanism Usher can proxy sends a secret in
 * the clear, so on an insecure connection there is none and LOGINDISABLED says why.
 */
export function preAuthCapabilities(conn: ClientConnection, ctx: ProxyContext): string {
  const starttls = ctx.tls !== undefined && !conn.tls;
  return LISTS[(starttls ? 1 : 0) | (conn.secured ? 2 : 0)] as string;
}
