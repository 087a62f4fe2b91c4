import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { loginAndProxy as runLogin } from '../session/login-and-proxy.js';
import { pop3BackendLogin } from './backend-login.js';
import { POP3 } from './replies.js';
import { readSaslResponse } from './sasl-response.js';
import type { Pop3Next, Pop3Session } from './state.js';

const BASE64_OR_CANCEL = /^(?:\*|[A-Za-z0-9+/]*={0,2})$/;

/** POP3's backend login inside the shared flow; POP3 has no unsolicited goodbye, a kick just closes. */
export function loginAndProxy(session: Pop3Session, credentials: SaslCredentials): Promise<Pop3Next> {
  const { conn, ctx } = session;
  return runLogin(session, credentials, {
    protocol: 'pop3',
    tempUnavailable: POP3.tempUnavailable,
    backendLogin: (backend) =>
      pop3BackendLogin(backend, {
        ctx,
        info: conn.info,
        credentials,
        relayChallenge: async (line) => {
          conn.write(`${line}\r\n`);
          const response = await readSaslResponse(session);
          // the backend must never see bytes the client could not have meant as SASL
          return BASE64_OR_CANCEL.test(response) ? response : '*';
        },
      }),
  });
}
