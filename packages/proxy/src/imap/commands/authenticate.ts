import { isSaslMechanism, SaslExchange, type SaslStep } from '../../sasl/sasl-exchange.js';
import { REPLY } from '../replies.js';
import type { CommandHandler } from './types.js';

/**
 * AUTHENTICATE <mech> [initial-response]: play the server side only until the username is known
 * (SaslExchange), then the session replays the client's responses to the backend.
 */
export const authenticate: CommandHandler = async (s, cmd) => {
  const [mechArg, irArg, ...extra] = cmd.args;
  if (mechArg?.type !== 'atom' || extra.length > 0 || (irArg !== undefined && irArg.type !== 'atom')) return 'bad';
  const mechanism = mechArg.value.toUpperCase();
  if (!isSaslMechanism(mechanism)) {
    s.tagged(cmd.tag, 'NO', '[ALERT] Unsupported authentication mechanism.');
    return 'next';
  }
  if (!s.conn.secured) return s.loginFailed(`${cmd.tag} NO ${REPLY.plaintextDisallowed}`, { immediate: true });

  const exchange = new SaslExchange(mechanism, { masterSeparator: s.ctx.masterSeparator });
  // SASL-IR (RFC 4959): "=" stands for an empty initial response
  const ir = irArg?.type === 'atom' ? irArg.value : undefined;
  let step: SaslStep = exchange.start(ir === '=' ? '' : ir);
  let initial = ir !== undefined;
  while (step.kind === 'challenge') {
    s.send(`+ ${step.challenge}`);
    const line = (await s.conn.reader.readLine()).toString('latin1');
    if (line === '*') {
      s.tagged(cmd.tag, 'BAD', 'Authentication aborted by client.');
      return 'next';
    }
    initial = false;
    step = exchange.respond(line);
  }
  if (step.kind === 'error') {
    if (/base64/i.test(step.message)) {
      s.tagged(cmd.tag, 'BAD', `Invalid base64 data in ${initial ? 'initial' : 'continued'} response`);
      return 'next';
    }
    return s.loginFailed(`${cmd.tag} NO ${REPLY.authFailed}`);
  }
  return s.login(cmd.tag, step.credentials);
};
