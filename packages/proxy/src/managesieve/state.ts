import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { SieveCommand } from './parser.js';

/** What one pre-auth ManageSieve connection remembers between commands. */
export interface SieveSession {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  badCommands: number;
  authFailures: number;
}

/** As for POP3: keep reading, count a bad command, close (last line written), or proxied and over. */
export type SieveNext = 'continue' | 'bad' | 'close' | 'proxied';

export type SieveHandler = (session: SieveSession, command: SieveCommand) => Promise<SieveNext>;

/** What `readSieveTokens` needs from the session: the client's reader, literal-bounded. */
export function literalLimit(session: SieveSession): { maxLiteral: number } {
  return { maxLiteral: session.ctx.limits.maxPreAuthLiteral };
}
