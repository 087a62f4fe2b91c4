import type { Route } from '@usher/core';
import type { BackendConnection } from '../backend/backend-connection.js';
import { ProxyError } from '../errors.js';
import type { ConnectionInfo } from '../net/client-connection.js';
import { isPositive, type LmtpReply, parseReplyLine } from './replies.js';

/** A reply longer than this is not LMTP; it would only let a broken backend grow our memory. */
const MAX_REPLY_LINES = 100;
/** How long a QUIT may linger before the socket is torn down anyway. */
const QUIT_GRACE_MS = 2000;

/** What the backend is told about the transaction's origin when it starts. */
export interface BackendIntroduction {
  /** Usher's own name, for the first LHLO. */
  readonly proxyName: string;
  /** The client's LHLO name: the backend's Received header should name the real MTA. */
  readonly clientHelo: string;
  readonly info: ConnectionInfo;
  /** Usher's proxy TTL; the backend gets one less (loop guard). */
  readonly proxyTtl: number;
  /** `MAIL FROM:<...> params` as it goes to the backend. */
  readonly mailFrom: string;
}

/**
 * The client side of one LMTP connection to a backend: handshake (with XCLIENT when offered),
 * commands with a deadline, raw body writes with backpressure. Any I/O failure marks it lost;
 * the caller then answers for its recipients itself.
 */
export class LmtpBackend {
  readonly route: Route;
  private readonly conn: BackendConnection;
  private readonly timeoutMs: number;
  private readonly tlsMode: 'implicit' | 'starttls' | undefined;
  private lostReason: string | undefined;

  constructor(conn: BackendConnection, route: Route, timeoutMs: number) {
    this.conn = conn;
    this.route = route;
    this.timeoutMs = timeoutMs;
    this.tlsMode = conn.target.tls?.mode;
    conn.reader.idleTimeoutMs = timeoutMs;
    conn.socket.once('close', () => {
      this.lostReason ??= 'connection closed';
    });
  }

  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  /**
   * Greeting, LHLO, XCLIENT (if offered), LHLO again, MAIL. Resolves undefined when the backend is
   * ready for RCPT, or with its refusal of MAIL (relayed to the recipients). Rejects when the
   * backend cannot be used at all.
   */
  async start(intro: BackendIntroduction): Promise<LmtpReply | undefined> {
    this.expect(await this.readReply(), 220, 'greeting');
    let caps = capabilities(this.expect(await this.command(`LHLO ${intro.proxyName}`), 250, 'LHLO'));
    if (this.tlsMode === 'starttls') {
      this.expect(await this.command('STARTTLS'), 220, 'STARTTLS');
      await this.conn.startTls();
      this.conn.reader.idleTimeoutMs = this.timeoutMs;
      caps = capabilities(this.expect(await this.command(`LHLO ${intro.proxyName}`), 250, 'LHLO'));
    }
    const xclient = caps.get('XCLIENT');
    if (xclient) {
      const reply = await this.command(xclientCommand(xclient, intro));
      // a refusal leaves the session usable; delivery matters more than the client address
      if (reply.code === 220) this.expect(await this.command(`LHLO ${intro.clientHelo}`), 250, 'LHLO');
    }
    const mail = await this.command(intro.mailFrom);
    return isPositive(mail) ? undefined : mail;
  }

  /** Send one command line and read its reply. */
  async command(line: string): Promise<LmtpReply> {
    this.write(`${line}\r\n`);
    return this.readReply();
  }

  /** One complete reply, within the LMTP backend timeout. */
  async readReply(): Promise<LmtpReply> {
    // a backend may say its last words and close; those words still count
    if (this.lostReason && this.conn.reader.buffered === 0) throw this.lostError();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.destroy(`no reply within ${this.timeoutMs} ms`);
        reject(new ProxyError('BACKEND_TIMEOUT', 'backend reply timed out', this.logFields()));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([this.readLines(), deadline]);
    } catch (e) {
      this.destroy((e as Error).message);
      throw e instanceof ProxyError ? e : this.lostError();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Body bytes; false = wait for drain() before writing more. */
  write(data: string | Buffer): boolean {
    if (this.lostReason || this.conn.socket.destroyed) return true;
    return this.conn.socket.write(data);
  }

  /** Resolves true once the socket takes data again, false if it closed or stalled past the timeout. */
  drain(): Promise<boolean> {
    const socket = this.conn.socket;
    if (this.lostReason || socket.destroyed) return Promise.resolve(false);
    if (!socket.writableNeedDrain) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        this.destroy(`body write stalled for ${this.timeoutMs} ms`);
        done(false);
      }, this.timeoutMs);
      socket.on('drain', onDrain);
      socket.once('close', onClose);
    });
  }

  /** End politely: the backend logs a clean logout instead of a lost connection. */
  quit(): void {
    const socket = this.conn.socket;
    this.lostReason ??= 'quit';
    if (socket.destroyed) return;
    socket.end('QUIT\r\n');
    setTimeout(() => socket.destroy(), QUIT_GRACE_MS).unref();
  }

  destroy(reason: string): void {
    this.lostReason ??= reason;
    this.conn.close();
  }

  logFields(): Record<string, unknown> {
    return { backend: this.route.backend, userHash: this.route.userHash };
  }

  private async readLines(): Promise<LmtpReply> {
    const lines: string[] = [];
    let code: number | undefined;
    for (;;) {
      const raw = (await this.conn.reader.readLine()).toString('latin1');
      const parsed = parseReplyLine(raw);
      if (!parsed || (code !== undefined && parsed.code !== code)) {
        throw new ProxyError('BACKEND_PROTOCOL', 'invalid reply from backend', {
          ...this.logFields(),
          line: raw.slice(0, 80),
        });
      }
      code = parsed.code;
      lines.push(parsed.text);
      if (!parsed.more) return { code: parsed.code, lines };
      if (lines.length >= MAX_REPLY_LINES) {
        throw new ProxyError('BACKEND_PROTOCOL', 'backend reply too long', this.logFields());
      }
    }
  }

  private expect(reply: LmtpReply, code: number, step: string): LmtpReply {
    if (reply.code === code) return reply;
    this.destroy(`${step} refused`);
    throw new ProxyError(
      'BACKEND_PROTOCOL',
      `backend refused ${step}: ${reply.code} ${reply.lines[0] ?? ''}`,
      this.logFields(),
    );
  }

  private lostError(): ProxyError {
    return new ProxyError('DISCONNECTED', `backend connection lost: ${this.lostReason ?? 'closed'}`, this.logFields());
  }
}

/** LHLO extension lines (all but the first) as keyword → parameters. */
function capabilities(reply: LmtpReply): Map<string, string[]> {
  const caps = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword)
      caps.set(
        keyword.toUpperCase(),
        params.map((p) => p.toUpperCase()),
      );
  }
  return caps;
}

/** XCLIENT with just the attributes the backend listed; values xtext-encoded (RFC 3461 §4). */
function xclientCommand(supported: readonly string[], intro: BackendIntroduction): string {
  const { info } = intro;
  const values: Record<string, string> = {
    ADDR: xclientAddress(info.clientIp),
    PORT: String(info.clientPort),
    SESSION: info.sessionId,
    TTL: String(Math.max(0, intro.proxyTtl - 1)),
    PROTO: 'LMTP',
    HELO: intro.clientHelo,
  };
  const attrs = Object.entries(values)
    .filter(([name]) => supported.includes(name))
    .map(([name, value]) => `${name}=${xtext(value)}`);
  return `XCLIENT ${attrs.join(' ')}`;
}

/** Postfix's XCLIENT convention, which Dovecot follows: IPv6 addresses carry an "IPV6:" prefix. */
function xclientAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  return ip.includes(':') ? `IPV6:${ip}` : ip;
}

export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte > 0x20 && byte < 0x7f && byte !== 0x2b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
