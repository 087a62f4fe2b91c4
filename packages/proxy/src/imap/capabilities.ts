import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import { SASL_MECHANISMS } from '../sasl/sasl-exchange.js';

const BASE = ['IMAP4rev1', 'SASL-IR', 'LOGIN-REFERRALS', 'ID', 'ENABLE', 'IDLE', 'LITERAL+'];

/** Per context: the four possible lists (STARTTLS offered or not, secured or not), built once. */
const built = new WeakMap<ProxyContext, Map<number, string>>();

/**
 * What imap-login advertises before login. Every mechanism Usher can proxy sends a secret in
 * the clear, so on an insecure connection there is none and LOGINDISABLED says why.
 */
export function preAuthCapabilities(conn: ClientConnection, ctx: ProxyContext): string {
  const starttls = ctx.tls !== undefined && !conn.tls;
  const secured = conn.secured;
  const key = (starttls ? 1 : 0) | (secured ? 2 : 0);
  let lists = built.get(ctx);
  if (!lists) {
    lists = new Map();
    built.set(ctx, lists);
  }
  let caps = lists.get(key);
  if (caps === undefined) {
    const list = [...BASE];
    if (starttls) list.push('STARTTLS');
    if (secured) list.push(...SASL_MECHANISMS.map((m) => `AUTH=${m}`));
    else list.push('LOGINDISABLED');
    caps = list.join(' ');
    lists.set(key, caps);
  }
  return caps;
}
