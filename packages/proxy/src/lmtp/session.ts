import type { ProxyContext } from '../context.js';
import { ProxyError } from '../errors.js';
import type { ClientConnection } from '../net/client-connection.js';
import { BackendPool } from './backend-pool.js';
import { type AcceptedRecipient, deliver } from './deliver.js';
import {
  type EsmtpParam,
  type LmtpCommand,
  parseCommand,
  parseLhloName,
  parseMailFrom,
  parseRcptTo,
} from './parser.js';
import { formatReply, isPositive, lmtpName, RCPT_REPLY, REPLY, relayed } from './replies.js';

/** Recipients per transaction; past this an MTA gets 452 and sends the rest in another one. */
export const MAX_RECIPIENTS = 1000;

type Next = 'continue' | 'close';

interface Transaction {
  readonly pool: BackendPool;
  readonly accepted: AcceptedRecipient[];
  recipients: number;
}

/**
 * One LMTP client (an MTA) from greeting to QUIT. LMTP is never spliced: every transaction fans
 * out to the backends of its recipients (see BackendPool), and the replies come back per recipient.
 */
class LmtpSession {
  private readonly conn: ClientConnection;
  private readonly ctx: ProxyContext;
  private readonly name: string;
  private helo: string | undefined;
  private tx: Transaction | undefined;
  private badCommands = 0;

  constructor(conn: ClientConnection, ctx: ProxyContext) {
    this.conn = conn;
    this.ctx = ctx;
    this.name = lmtpName(ctx.greetingName);
  }

  async run(): Promise<void> {
    this.conn.write(REPLY.greeting(this.name));
    for (;;) {
      const line = (await this.conn.reader.readLine()).toString('latin1');
      const cmd = parseCommand(line);
      const next = cmd ? await this.dispatch(cmd) : this.bad(REPLY.unknown);
      if (next === 'close') return;
    }
  }

  /** Whatever ended the session, no backend connection may outlive it. */
  endTransaction(): void {
    this.tx?.pool.closeAll();
    this.tx = undefined;
  }

  closeAfterError(e: unknown): void {
    const code = e instanceof ProxyError ? e.code : undefined;
    if (code === 'LINE_TOO_LONG') this.conn.close(REPLY.lineTooLong);
    else if (code === 'IDLE_TIMEOUT') this.conn.close(REPLY.idleTimeout(this.name));
    else {
      if (code !== 'DISCONNECTED' && code !== 'STREAM_ERROR') {
        this.ctx.log.warn('lmtp session failed', { session: this.conn.info.sessionId, reason: (e as Error).message });
      }
      this.conn.close();
    }
  }

  private async dispatch(cmd: LmtpCommand): Promise<Next> {
    switch (cmd.verb) {
      case 'LHLO':
        return this.lhlo(cmd.args);
      case 'STARTTLS':
        return this.startTls(cmd.args);
      case 'MAIL':
        return this.mail(cmd.args);
      case 'RCPT':
        return this.rcpt(cmd.args);
      case 'DATA':
        return this.data(cmd.args);
      case 'RSET':
        this.endTransaction();
        return this.reply(REPLY.ok);
      case 'NOOP':
        return this.reply(REPLY.ok);
      case 'VRFY':
        return this.reply(REPLY.vrfy);
      case 'QUIT':
        this.endTransaction();
        this.conn.close(REPLY.bye);
        return 'close';
      case 'HELO':
      case 'EHLO':
        return this.bad(REPLY.useLhlo);
      default:
        return this.bad(REPLY.unknown);
    }
  }

  private lhlo(args: string): Next {
    const name = parseLhloName(args);
    if (name === undefined) return this.reply(REPLY.syntax('LHLO needs a domain name'));
    this.endTransaction();
    this.helo = name;
    const maxSize = this.ctx.limits.lmtpMaxMessageSize;
    const caps = [
      this.name,
      '8BITMIME',
      'ENHANCEDSTATUSCODES',
      'PIPELINING',
      ...(this.ctx.tls && !this.conn.tls ? ['STARTTLS'] : []),
      ...(maxSize > 0 ? [`SIZE ${maxSize}`] : []),
    ];
    return this.reply(formatReply({ code: 250, lines: caps }));
  }

  private async startTls(args: string): Promise<Next> {
    const tls = this.ctx.tls;
    if (!tls || this.conn.tls) return this.reply(REPLY.noTls);
    if (args !== '') return this.reply(REPLY.syntax('STARTTLS takes no arguments'));
    this.conn.write(REPLY.startTls);
    // rejects on pipelined plaintext or a failed handshake: both end the connection
    await this.conn.startTls(tls);
    this.endTransaction();
    this.helo = undefined;
    return 'continue';
  }

  private mail(args: string): Next {
    if (this.helo === undefined) return this.reply(REPLY.heloFirst);
    if (this.tx) return this.reply(REPLY.mailTwice);
    const path = parseMailFrom(args);
    if (!path.ok) return this.reply(REPLY.badSender(path.reason));
    const refusal = this.checkMailParams(path.params);
    if (refusal) return this.reply(refusal);
    // SIZE is ours to enforce; backends (Dovecot) do not advertise it and would refuse the parameter
    const forwarded = path.params.filter((p) => p.keyword !== 'SIZE').map((p) => ` ${p.raw}`);
    this.tx = {
      pool: new BackendPool(this.ctx, this.conn.info, {
        proxyName: this.name,
        clientHelo: this.helo,
        info: this.conn.info,
        proxyTtl: this.ctx.proxyTtl,
        mailFrom: `MAIL FROM:<${path.address}>${forwarded.join('')}`,
      }),
      accepted: [],
      recipients: 0,
    };
    return this.reply(REPLY.senderOk);
  }

  /** Only what LHLO advertised: BODY (8BITMIME) and SIZE. */
  private checkMailParams(params: readonly EsmtpParam[]): string | undefined {
    for (const p of params) {
      if (p.keyword === 'BODY') {
        const v = p.value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return REPLY.syntax('BODY must be 7BIT or 8BITMIME');
      } else if (p.keyword === 'SIZE') {
        if (p.value === undefined || !/^\d{1,20}$/.test(p.value)) return REPLY.syntax('Invalid SIZE');
        const max = this.ctx.limits.lmtpMaxMessageSize;
        if (max > 0 && Number(p.value) > max) return REPLY.sizeExceeded;
      } else return REPLY.unsupportedParam(p.keyword);
    }
    return undefined;
  }

  private async rcpt(args: string): Promise<Next> {
    const tx = this.tx;
    if (!tx) return this.reply(REPLY.mailFirst);
    const path = parseRcptTo(args);
    if (!path.ok) return this.reply(REPLY.badRecipient(path.reason));
    if (tx.recipients >= MAX_RECIPIENTS) return this.reply(REPLY.tooManyRecipients);
    tx.recipients++;
    const rcpt = path.address;
    const choice = await tx.pool.backendFor(rcpt);
    if (choice.kind === 'refused') return this.reply(formatReply(relayed(choice.reply)));
    const params = path.params.map((p) => ` ${p.raw}`).join('');
    let reply = RCPT_REPLY.backendLost(rcpt);
    try {
      reply = await choice.backend.command(`RCPT TO:<${rcpt}>${params}`);
    } catch (e) {
      this.ctx.log.error('backend lost during RCPT', {
        session: this.conn.info.sessionId,
        protocol: 'lmtp',
        ...choice.backend.logFields(),
        reason: (e as Error).message,
      });
    }
    if (isPositive(reply)) tx.accepted.push({ rcpt, backend: choice.backend });
    return this.reply(formatReply(relayed(reply)));
  }

  private async data(args: string): Promise<Next> {
    const tx = this.tx;
    if (!tx) return this.reply(REPLY.mailFirst);
    if (args !== '') return this.reply(REPLY.syntax('DATA takes no arguments'));
    if (tx.accepted.length === 0) return this.reply(REPLY.noRecipients);
    try {
      const replies = await deliver(this.conn, this.ctx, tx.accepted);
      this.conn.write(replies.map(formatReply).join(''));
    } finally {
      // LMTP ends the transaction with DATA, whatever the outcome
      this.endTransaction();
    }
    return 'continue';
  }

  private bad(reply: string): Next {
    this.badCommands++;
    if (this.badCommands < this.ctx.limits.maxBadCommands) return this.reply(reply);
    this.conn.write(reply);
    this.conn.close(REPLY.tooManyErrors(this.name));
    return 'close';
  }

  private reply(text: string): Next {
    this.conn.write(text);
    return 'continue';
  }
}

/** Serve one LMTP connection until QUIT, error or disconnect. Never rejects. */
export async function handleLmtpConnection(conn: ClientConnection, ctx: ProxyContext): Promise<void> {
  let session: LmtpSession | undefined;
  try {
    session = new LmtpSession(conn, ctx);
    await session.run();
  } catch (e) {
    if (session) session.closeAfterError(e);
    else conn.close();
  } finally {
    session?.endTransaction();
    conn.close();
  }
}
