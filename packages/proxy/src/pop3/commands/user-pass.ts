import { plainCredentials } from '../../sasl/sasl-exchange.js';
import { loginAndProxy } from '../login.js';
import { POP3 } from '../replies.js';
import type { Pop3Handler } from '../state.js';

/** RFC 1939 USER: only remembered; nothing is checked until PASS. */
export const user: Pop3Handler = async (session, command) => {
  const { conn } = session;
  if (!conn.secured) {
    conn.write(POP3.plaintextDisallowed);
    return 'continue';
  }
  const name = command.args[0];
  if (command.args.length !== 1 || name === undefined) {
    conn.write(POP3.invalidArguments);
    return 'bad';
  }
  session.user = name;
  conn.write(POP3.userOk);
  return 'continue';
};

/** PASS takes the rest of the line: passwords may contain spaces. The backend judges it, as SASL PLAIN. */
export const pass: Pop3Handler = async (session, command) => {
  const { conn, ctx } = session;
  if (!conn.secured) {
    conn.write(POP3.plaintextDisallowed);
    return 'continue';
  }
  const login = session.user;
  if (login === undefined) {
    conn.write(POP3.noUsername);
    return 'continue';
  }
  session.user = undefined;
  return loginAndProxy(session, plainCredentials(login, command.rest, ctx.masterSeparator));
};
