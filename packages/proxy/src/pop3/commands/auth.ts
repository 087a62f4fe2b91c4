import { isSaslMechanism, SASL_MECHANISMS, SaslExchange, type SaslStep } from '../../sasl/sasl-exchange.js';
import { authFailureDelay } from '../../session/auth-delay.js';
import { loginAndProxy } from '../login.js';
import { POP3 } from '../replies.js';
import { readSaslResponse } from '../sasl-response.js';
import type { Pop3Handler } from '../state.js';

/**
 * RFC 5034 AUTH, played only until the username is known; the responses are kept for the backend.
 * Without arguments it lists the mechanisms (the pre-RFC 5034 form many clients still probe).
 */
export const auth: Pop3Handler = async (session, command) => {
  const { conn, ctx } = session;
  if (command.args.length === 0) {
    const mechs = conn.secured ? SASL_MECHANISMS.map((m) => `${m}\r\n`).join('') : '';
    conn.write(`+OK\r\n${mechs}.\r\n`);
    return 'continue';
  }
  const [mechArg = '', initial, ...extra] = command.args;
  if (extra.length > 0) {
    conn.write(POP3.invalidArguments);
    return 'bad';
  }
  if (!conn.secured) {
    conn.write(POP3.plaintextDisallowed);
    return 'continue';
  }
  const mechanism = mechArg.toUpperCase();
  if (!isSaslMechanism(mechanism)) {
    conn.write(POP3.unsupportedMechanism);
    return 'continue';
  }
  const exchange = new SaslExchange(mechanism, { masterSeparator: ctx.masterSeparator });
  // RFC 5034 §4: "=" is an empty initial response
  let step: SaslStep = initial === undefined ? exchange.start() : exchange.start(initial === '=' ? '' : initial);
  while (step.kind === 'challenge') {
    conn.write(`+ ${step.challenge}\r\n`);
    const response = await readSaslResponse(session);
    if (response === '*') {
      conn.write(POP3.authAborted);
      return 'continue';
    }
    step = exchange.respond(response);
  }
  if (step.kind === 'error') {
    session.authFailures++;
    await authFailureDelay(ctx.limits.authFailureDelayMs);
    conn.write(POP3.saslFailed(step.message));
    return session.authFailures >= ctx.limits.maxAuthAttempts ? 'close' : 'continue';
  }
  return loginAndProxy(session, step.credentials);
};
