import { isSaslMechanism, SaslExchange, type SaslStep } from '../../sasl/sasl-exchange.js';
import { authFailureDelay } from '../../session/auth-delay.js';
import { loginAndProxy } from '../login.js';
import { quoteSieve, readSieveString } from '../parser.js';
import { SIEVE } from '../replies.js';
import { literalLimit, type SieveHandler } from '../state.js';

/**
 * RFC 5804 §2.1 AUTHENTICATE "MECH" ["initial response"], played only until the username is
 * known. Challenges go out as quoted base64; responses come back as strings, "*" cancels.
 */
export const authenticate: SieveHandler = async (session, command) => {
  const { conn, ctx } = session;
  const [mechArg, initial, ...extra] = command.args;
  if (mechArg === undefined || extra.length > 0 || (initial !== undefined && initial.kind !== 'string')) {
    conn.write(SIEVE.invalidArguments);
    return 'bad';
  }
  if (!conn.secured) {
    conn.write(SIEVE.plaintextDisallowed);
    return 'continue';
  }
  const mechanism = mechArg.value.toUpperCase();
  if (!isSaslMechanism(mechanism)) {
    conn.write(SIEVE.unsupportedMechanism);
    return 'continue';
  }
  const exchange = new SaslExchange(mechanism, { masterSeparator: ctx.masterSeparator });
  let step: SaslStep = initial === undefined ? exchange.start() : exchange.start(initial.value);
  while (step.kind === 'challenge') {
    conn.write(`${quoteSieve(step.challenge)}\r\n`);
    const response = await readSieveString(conn.reader, literalLimit(session));
    if (response === '*') {
      conn.write(SIEVE.authAborted);
      return 'continue';
    }
    step = exchange.respond(response);
  }
  if (step.kind === 'error') {
    session.authFailures++;
    await authFailureDelay(ctx.limits.authFailureDelayMs);
    conn.write(SIEVE.no(`${step.message}.`));
    return session.authFailures >= ctx.limits.maxAuthAttempts ? 'close' : 'continue';
  }
  return loginAndProxy(session, step.credentials);
};
