import type { ProxyContext } from '../context.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { Pop3Command } from './parser.js';

/** What one pre-auth POP3 connection remembers between commands. */
export interface Pop3Session {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  /** From USER, waiting for PASS; dropped by STLS (RFC 2595 §4: no state survives the upgrade). */
  user: string | undefined;
  badCommands: number;
  authFailures: number;
}

/**
 * After a command: keep reading; keep reading but count a bad command (the handler wrote the
 * error); close (the handler wrote the last line); or the session was proxied and is over.
 */
export type Pop3Next = 'continue' | 'bad' | 'close' | 'proxied';

export type Pop3Handler = (session: Pop3Session, command: Pop3Command) => Promise<Pop3Next>;
