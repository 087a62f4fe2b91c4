import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ClientConnection } from '../net/client-connection.js';
import { sieveCapabilityLines } from './capabilities.js';
import { authenticate } from './commands/authenticate.js';
import { capability, logout, noop } from './commands/basic.js';
import { starttls } from './commands/starttls.js';
import { readSieveCommand, SieveParseError } from './parser.js';
import { SIEVE } from './replies.js';
import { literalLimit, type SieveHandler, type SieveNext, type SieveSession } from './state.js';

/** The non-authenticated state of RFC 5804 as far as a proxy plays it. */
const HANDLERS: Readonly<Record<string, SieveHandler>> = {
  AUTHENTICATE: authenticate,
  CAPABILITY: capability,
  STARTTLS: starttls,
  NOOP: noop,
  LOGOUT: logout,
};

/**
 * One ManageSieve client from greeting to close: pre-auth here, then spliced to its backend.
 * Never rejects; every failure ends as a response and/or a closed connection.
 */
export async function handleManageSieveConnection(conn: ClientConnection, ctx: ProxyContext): Promise<void> {
  const session: SieveSession = { conn, ctx, badCommands: 0, authFailures: 0 };
  let next: SieveNext = 'continue';
  try {
    conn.write(sieveCapabilityLines(session) + SIEVE.ok(`${ctx.greetingName} ready.`));
    while (next === 'continue' || next === 'bad') {
      next = await step(session);
      if (next === 'bad' && ++session.badCommands >= ctx.limits.maxBadCommands) {
        conn.write(SIEVE.tooManyBadCommands);
        next = 'close';
      }
    }
  } catch (e) {
    const last = lastWords(e);
    if (last !== undefined) conn.write(last);
    if (e instanceof ProxyError || e instanceof SieveParseError) {
      ctx.log.debug('managesieve connection ended', { session: conn.info.sessionId, reason: e.message });
    } else {
      ctx.log.error('managesieve session failed', { session: conn.info.sessionId, reason: (e as Error).message });
    }
  } finally {
    if (next !== 'proxied') conn.close();
  }
}

async function step(session: SieveSession): Promise<SieveNext> {
  try {
    const command = await readSieveCommand(session.conn.reader, literalLimit(session));
    const handler = HANDLERS[command.name];
    if (!handler) {
      session.conn.write(SIEVE.unknownCommand);
      return 'bad';
    }
    return await handler(session, command);
  } catch (e) {
    // a malformed command or SASL response was consumed whole: say so and read on
    if (!(e instanceof SieveParseError) || e.fatal) throw e;
    session.conn.write(SIEVE.invalidCommand);
    return 'bad';
  }
}

function lastWords(e: unknown): string | undefined {
  if (e instanceof SieveParseError) return SIEVE.literalTooLarge;
  if (!(e instanceof ProxyError)) return undefined;
  if (e.code === 'LINE_TOO_LONG') return SIEVE.lineTooLong;
  if (e.code === 'IDLE_TIMEOUT') return SIEVE.idleTimeout;
  return undefined;
}
