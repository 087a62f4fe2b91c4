import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

/** Why a probe failed, in words an operator reads in the log ("imap: banner: -ERR ..."). */
export class ProbeFailure extends Error {}

export interface ProbeTls {
  /** 'implicit': TLS from the first byte; 'starttls': upgraded by the protocol before a login. */
  readonly mode: 'implicit' | 'starttls';
  readonly verify: boolean;
  readonly ca?: Buffer;
}

export interface LineTarget {
  readonly host: string;
  readonly port: number;
  readonly tls?: ProbeTls;
  /** Everything (connect, dialogue) must be over by then: a backend that hangs is as bad as a dead one. */
  readonly deadline: number;
}

const MAX_LINE = 64 * 1024;

/**
 * A tiny line-oriented client for the probe dialogues: one socket, CRLF lines in, lines out, and a
 * single deadline for the whole conversation. Nothing here is shared with the proxy on purpose: a
 * probe is a separate, short, fully buffered exchange.
 */
export class LineClient {
  private socket: Socket;
  private readonly target: LineTarget;
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private ended: string | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(socket: Socket, target: LineTarget) {
    this.socket = socket;
    this.target = target;
    this.attach(socket);
    this.timer = setTimeout(() => this.fail('timed out'), Math.max(0, target.deadline - Date.now()));
  }

  static open(target: LineTarget): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const base = { host: target.host, port: target.port };
      const implicit = target.tls?.mode === 'implicit';
      const s: Socket = implicit ? tlsConnect({ ...base, ...tlsOptions(target) }) : netConnect(base);
      const timer = setTimeout(
        () => {
          s.destroy();
          reject(new ProbeFailure('connect timed out'));
        },
        Math.max(0, target.deadline - Date.now()),
      );
      const onError = (e: Error) => {
        clearTimeout(timer);
        s.destroy();
        reject(new ProbeFailure(`connect: ${e.message}`));
      };
      s.once('error', onError);
      s.once(implicit ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(new LineClient(s, target));
      });
    });
  }

  /** The next line, without its CRLF. */
  async readLine(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.ended !== undefined) throw new ProbeFailure(this.ended);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  write(line: string): void {
    if (!this.socket.destroyed) this.socket.write(`${line}\r\n`);
  }

  /** Send a command, then read lines until `done` says the reply is complete; returns its last line. */
  async command(line: string, done: (line: string) => boolean): Promise<string> {
    this.write(line);
    for (;;) {
      const reply = await this.readLine();
      if (done(reply)) return reply;
    }
  }

  /** Upgrade to TLS after the protocol's STARTTLS exchange. */
  async startTls(): Promise<void> {
    if (this.lines.length > 0 || this.buffer !== '') throw new ProbeFailure('backend sent data before TLS');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, ...tlsOptions(this.target) });
      s.once('secureConnect', () => resolve(s));
      s.once('error', (e) => reject(new ProbeFailure(`TLS: ${e.message}`)));
    });
    this.attach(this.socket);
  }

  close(): void {
    clearTimeout(this.timer);
    this.socket.destroy();
  }

  private attach(s: Socket): void {
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl = this.buffer.indexOf('\n');
      while (nl >= 0) {
        this.lines.push(this.buffer.slice(0, nl).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(nl + 1);
        nl = this.buffer.indexOf('\n');
      }
      if (this.buffer.length > MAX_LINE) this.fail('line too long');
      this.wake();
    });
    s.on('error', (e) => this.fail(e.message));
    s.on('close', () => this.fail('connection closed'));
  }

  private fail(why: string): void {
    this.ended ??= why;
    this.socket.destroy();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

function tlsOptions(target: LineTarget): ConnectionOptions {
  const tls = target.tls;
  return {
    rejectUnauthorized: tls?.verify ?? true,
    ...(tls?.ca ? { ca: tls.ca } : {}),
    // SNI carries host names only; an IP target is checked against the certificate's IP names
    ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
  };
}
