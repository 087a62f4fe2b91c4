import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { loginAndProxy as runLogin } from '../session/login-and-proxy.js';
import { sieveBackendLogin } from './backend-login.js';
import { quoteSieve, readSieveString } from './parser.js';
import { SIEVE } from './replies.js';
import { literalLimit, type SieveNext, type SieveSession } from './state.js';

const BASE64_OR_CANCEL = /^(?:\*|[A-Za-z0-9+/]*={0,2})$/;

/**
 * The line a kicked session ends with. Module-level: a closure made in loginAndProxy would keep
 * that scope (the credentials included) alive for as long as the session runs.
 */
function sieveGoodbye(reason: string): string {
  return `BYE ${quoteSieve(reason)}\r\n`;
}

/** ManageSieve's backend login inside the shared flow; short of a verdict the client hears TRYLATER. */
export function loginAndProxy(session: SieveSession, credentials: SaslCredentials): Promise<SieveNext> {
  const { conn, ctx } = session;
  return runLogin(session, credentials, {
    protocol: 'managesieve',
    tempUnavailable: SIEVE.tempUnavailable,
    goodbye: sieveGoodbye,
    backendLogin: (backend) =>
      sieveBackendLogin(backend, {
        ctx,
        info: conn.info,
        credentials,
        relayChallenge: async (raw) => {
          conn.write(raw);
          const response = await readSieveString(conn.reader, literalLimit(session));
          // the backend must never see bytes the client could not have meant as SASL
          return BASE64_OR_CANCEL.test(response) ? response : '*';
        },
      }),
  });
}
