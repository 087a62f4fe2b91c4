import type { ProxyContext } from '../../context.js';
import type { ClientConnection } from '../../net/client-connection.js';
import type { SaslCredentials } from '../../sasl/sasl-exchange.js';
import type { ImapCommand } from '../parser.js';

/**
 * How the session goes on after a command:
 * `next`: the reply is written, read the next command; `bad`: the command was invalid and the
 * session answers it (BAD, or BYE once too many were); `end`: the connection is finished;
`proxied`: the client is spliced to its backend now, and the connection is the splice's to end.
 */
export type CommandOutcome = 'next' | 'bad' | 'end' | 'proxied';

/** The part of the pre-auth session a command may use. */
export interface ImapSession {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  /** One response line; CRLF is added. */
  send(line: string): void;
  tagged(tag: string, status: 'OK' | 'NO' | 'BAD', text: string): void;
  /**
   * Answer a failed login (after the failure delay unless `immediate`) and count it;
   * `end` once the connection was closed for too many.
   */
  loginFailed(reply: string | Buffer, opts?: { immediate?: boolean }): Promise<CommandOutcome>;
  /** Route the user, log in at the backend with these credentials and, on success, proxy until the end. */
  login(tag: string, credentials: SaslCredentials): Promise<CommandOutcome>;
  close(lastLine?: string): void;
}

export type CommandHandler = (session: ImapSession, command: ImapCommand) => CommandOutcome | Promise<CommandOutcome>;
