import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ClientConnection } from '../net/client-connection.js';
import type { SaslCredentials } from '../sasl/sasl-exchange.js';
import { authFailureDelay } from '../session/auth-delay.js';
import { preAuthCapabilities } from './capabilities.js';
import { PRE_AUTH_COMMANDS } from './commands/index.js';
import type { CommandOutcome, ImapSession } from './commands/types.js';
import { CommandParser, type ImapCommand, ImapParseError } from './parser.js';
import { proxyLogin } from './proxy-login.js';
import { REPLY } from './replies.js';

/**
 * Serve one IMAP client: the pre-auth dialogue of Dovecot's imap-login, then (after a successful
 * backend login) the proxied session. Resolves when the connection is over; never rejects.
 */
export async function handleImapConnection(conn: ClientConnection, ctx: ProxyContext): Promise<void> {
  const session = new PreAuthSession(conn, ctx);
  let proxied = false;
  try {
    proxied = (await session.run()) === 'proxied';
  } catch (e) {
    session.ended(e);
  } finally {
    if (!proxied && !conn.isClosed) conn.close();
  }
}

class PreAuthSession implements ImapSession {
  readonly conn: ClientConnection;
  readonly ctx: ProxyContext;
  private badCommands = 0;
  private failedLogins = 0;

  constructor(conn: ClientConnection, ctx: ProxyContext) {
    this.conn = conn;
    this.ctx = ctx;
  }

  /** Resolves `proxied` once the client is spliced to a backend (the pre-auth state is then dropped). */
  async run(): Promise<'proxied' | undefined> {
    this.send(`* OK [CAPABILITY ${preAuthCapabilities(this.conn, this.ctx)}] ${this.ctx.greetingName} ready.`);
    for (;;) {
      let command: ImapCommand;
      try {
        command = await this.readCommand();
      } catch (e) {
        if (!(e instanceof ImapParseError)) throw e;
        if (e.code === 'TOO_LARGE') {
          this.close(`${e.tag ?? '*'} BAD ${e.message}\r\n`);
          return;
        }
        if (this.invalid(e.tag ?? '*') === 'end') return;
        continue;
      }
      const handler = PRE_AUTH_COMMANDS.get(command.name);
      const outcome = handler ? await handler(this, command) : 'bad';
      if (outcome === 'end') return;
      if (outcome === 'proxied') return outcome;
      if (outcome === 'bad' && this.invalid(command.tag) === 'end') return;
    }
  }

  /** How a session that threw ends: the client's own socket failed or went quiet. */
  ended(e: unknown): void {
    const code = e instanceof ProxyError ? e.code : undefined;
    if (code === 'LINE_TOO_LONG') this.close(`* BYE ${REPLY.inputTooLong}\r\n`);
    else if (code === 'IDLE_TIMEOUT') this.close(`* BYE ${REPLY.inactivity}\r\n`);
    else if (code === 'DISCONNECTED' || code === 'STREAM_ERROR' || code === 'DETACHED') this.close();
    else {
      this.ctx.log.error('imap session failed', { session: this.conn.info.sessionId, reason: String(e) });
      this.close();
    }
  }

  send(line: string): void {
    this.conn.write(`${line}\r\n`);
  }

  tagged(tag: string, status: 'OK' | 'NO' | 'BAD', text: string): void {
    this.send(`${tag} ${status} ${text}`);
  }

  async loginFailed(reply: string | Buffer, opts: { immediate?: boolean } = {}): Promise<CommandOutcome> {
    if (!opts.immediate) await authFailureDelay(this.ctx.limits.authFailureDelayMs);
    if (this.conn.isClosed) return 'end';
    this.conn.write(typeof reply === 'string' ? `${reply}\r\n` : reply);
    this.failedLogins++;
    if (this.failedLogins >= this.ctx.limits.maxAuthAttempts) {
      this.close(`* BYE ${REPLY.tooManyAuthFailures}\r\n`);
      return 'end';
    }
    return 'next';
  }

  login(tag: string, credentials: SaslCredentials): Promise<CommandOutcome> {
    return proxyLogin(this, tag, credentials);
  }

  close(lastLine?: string): void {
    this.conn.close(lastLine);
  }

  /** A command that was not understood: BAD, or BYE once there were too many (as imap-login counts them). */
  private invalid(tag: string): CommandOutcome {
    this.badCommands++;
    if (this.badCommands >= this.ctx.limits.maxBadCommands) {
      this.close(`* BYE ${REPLY.tooManyBad}\r\n`);
      return 'end';
    }
    this.tagged(tag, 'BAD', REPLY.badCommand);
    return 'next';
  }

  private async readCommand(): Promise<ImapCommand> {
    const parser = new CommandParser({
      maxLiteralBytes: this.ctx.limits.maxPreAuthLiteral,
      maxLineBytes: this.ctx.limits.maxLineLength,
    });
    let step = parser.feedLine(await this.conn.reader.readLine());
    while (step.kind === 'literal') {
      if (step.synchronizing) this.send('+ OK');
      parser.feedLiteral(await this.conn.reader.readBytes(step.size));
      step = parser.feedLine(await this.conn.reader.readLine());
    }
    return step.command;
  }
}
