import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Endpoint {
  host: string;
  port: number;
  /** Implicit TLS, verified against this CA (the host name is not checked: test certs lack our IPs). */
  tls?: { ca: Buffer };
}

interface Waiter {
  /** '' = the greeting (first untagged line), otherwise `${tag} `. */
  prefix: string;
  resolve(line: string): void;
  reject(err: Error): void;
}

const LF = 0x0a;
const LITERAL_AT_END = /\{(\d+)\+?\}\r?$/;

/**
 * A deliberately small IMAP client: one command in flight, literals counted and dropped unread.
 * On a 2-core box every cycle the client spends is taken from the proxy or Dovecot, so it does no
 * more parsing than finding tagged replies.
 */
export class ImapConn {
  /** Bytes of server literals (FETCH bodies) received so far. */
  literalBytes = 0;
  readonly closed: Promise<void>;
  private rest: Buffer | undefined;
  private skip = 0;
  private waiter: Waiter | undefined;
  private seq = 0;
  private error: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => socket.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    socket.on('error', (err) => this.fail(err));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.fail(new Error('connection closed'));
        resolve();
      }),
    );
  }

  /** Connects and resolves once the server greeted with `* OK`. */
  static async open(ep: Endpoint, timeoutMs = 30_000): Promise<ImapConn> {
    const socket = ep.tls
      ? tlsConnect({ host: ep.host, port: ep.port, ca: ep.tls.ca, checkServerIdentity: () => undefined })
      : netConnect({ host: ep.host, port: ep.port });
    const conn = new ImapConn(socket, timeoutMs);
    const greeting = await conn.wait('');
    if (!greeting.startsWith('* OK')) {
      conn.destroy();
      throw new Error(`greeting: ${greeting}`);
    }
    return conn;
  }

  /** Sends one command and resolves with its tagged reply line (whatever the status). */
  command(text: string, literal?: Buffer): Promise<string> {
    const tag = `a${++this.seq}`;
    const reply = this.wait(`${tag} `);
    if (literal) {
      // LITERAL+ (which Dovecot offers) saves waiting for the continuation
      this.socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
      this.socket.write(literal);
      this.socket.write('\r\n');
    } else {
      this.socket.write(`${tag} ${text}\r\n`);
    }
    return reply;
  }

  /** Like `command`, but rejects unless the reply is OK. */
  async ok(text: string, literal?: Buffer): Promise<string> {
    const line = await this.command(text, literal);
    if (!/^\S+ OK/.test(line)) throw new Error(`${text.split(' ', 1)[0]} failed: ${line}`);
    return line;
  }

  async login(user: string, password: string): Promise<void> {
    await this.ok(`LOGIN ${user} ${password}`);
  }

  /** LOGOUT, then wait for the server to close, so the TIME_WAIT stays on its side. */
  async logout(): Promise<void> {
    await this.ok('LOGOUT');
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wait(prefix: string): Promise<string> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiter = { prefix, resolve, reject };
      this.socket.setTimeout(this.timeoutMs);
    });
  }

  private fail(err: Error): void {
    this.error ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.error);
  }

  private onData(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let pos = 0;
    while (pos < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        this.skip -= n;
        this.literalBytes += n;
        pos += n;
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) break;
      const line = buf.toString('latin1', pos, lf > pos && buf[lf - 1] === 0x0d ? lf - 1 : lf);
      pos = lf + 1;
      const literal = LITERAL_AT_END.exec(line);
      if (literal) this.skip = Number(literal[1]);
      this.onLine(line);
    }
    if (pos < buf.length) this.rest = buf.subarray(pos);
  }

  private onLine(line: string): void {
    const w = this.waiter;
    if (!w) return;
    const match = w.prefix === '' ? line.startsWith('* ') : line.startsWith(w.prefix);
    if (!match) return;
    this.waiter = undefined;
    this.socket.setTimeout(0);
    w.resolve(line);
  }
}
