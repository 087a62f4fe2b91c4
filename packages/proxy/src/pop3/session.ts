import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ClientConnection } from '../net/client-connection.js';
import { auth } from './commands/auth.js';
import { capa } from './commands/capa.js';
import { quit } from './commands/quit.js';
import { stls } from './commands/stls.js';
import { pass, user } from './commands/user-pass.js';
import { type Pop3Command, Pop3ParseError, parsePop3Command } from './parser.js';
import { POP3 } from './replies.js';
import type { Pop3Handler, Pop3Next, Pop3Session } from './state.js';

/** The AUTHORIZATION state (RFC 1939 §4) as far as a proxy plays it. */
const HANDLERS: Readonly<Record<string, Pop3Handler>> = {
  CAPA: capa,
  USER: user,
  PASS: pass,
  AUTH: auth,
  STLS: stls,
  QUIT: quit,
};

/**
 * One POP3 client from greeting to close: pre-auth here, then spliced to its backend.
 * Never rejects; every failure ends as a reply and/or a closed connection.
 */
export async function handlePop3Connection(conn: ClientConnection, ctx: ProxyContext): Promise<void> {
  const session: Pop3Session = { conn, ctx, user: undefined, badCommands: 0, authFailures: 0 };
  let next: Pop3Next = 'continue';
  try {
    conn.write(POP3.greeting(ctx.greetingName));
    while (next === 'continue' || next === 'bad') {
      next = await step(session);
      if (next === 'bad' && ++session.badCommands >= ctx.limits.maxBadCommands) {
        conn.write(POP3.tooManyBadCommands);
        next = 'close';
      }
    }
  } catch (e) {
    if (e instanceof ProxyError) {
      const last =
        e.code === 'LINE_TOO_LONG' ? POP3.lineTooLong : e.code === 'IDLE_TIMEOUT' ? POP3.idleTimeout : undefined;
      if (last !== undefined) conn.write(last);
      ctx.log.debug('pop3 connection ended', { session: conn.info.sessionId, code: e.code });
    } else {
      ctx.log.error('pop3 session failed', { session: conn.info.sessionId, reason: (e as Error).message });
    }
  } finally {
    if (next !== 'proxied') conn.close();
  }
}

async function step(session: Pop3Session): Promise<Pop3Next> {
  const line = await session.conn.reader.readLine();
  let command: Pop3Command;
  try {
    command = parsePop3Command(line);
  } catch (e) {
    if (!(e instanceof Pop3ParseError)) throw e;
    session.conn.write(POP3.unknownCommand);
    return 'bad';
  }
  const handler = HANDLERS[command.name];
  if (!handler) {
    session.conn.write(POP3.unknownCommand);
    return 'bad';
  }
  return handler(session, command);
}
