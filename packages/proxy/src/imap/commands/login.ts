import { plainCredentials } from '../../sasl/sasl-exchange.js';
import { astring } from '../parser.js';
import { REPLY } from '../replies.js';
import type { CommandHandler } from './types.js';

export const login: CommandHandler = async (s, cmd) => {
  const [userArg, passArg] = cmd.args;
  const user = astring(userArg);
  const pass = astring(passArg);
  if (cmd.args.length !== 2 || user === undefined || pass === undefined) return 'bad';
  if (!s.conn.secured) return s.loginFailed(`${cmd.tag} NO ${REPLY.plaintextDisallowed}`, { immediate: true });
  return s.login(cmd.tag, plainCredentials(user, pass, s.ctx.masterSeparator));
};
