import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A line-protocol client over a plain socket for tests that must see exact bytes: send lines,
 * wait for patterns in the transcript, upgrade to TLS in place.
 */
export class RawClient {
  transcript = '';
  private socket: Socket;
  private consumed = 0;
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  static connect(host: string, port: number, opts: { localAddress?: string; tls?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const base = { host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) };
      const socket = opts.tls ? tlsConnect({ ...base, rejectUnauthorized: false }) : netConnect(base);
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private attach(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.transcript += chunk;
      this.waiter?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** Resolves with the transcript since the previous `until` once `re` matches it. */
  until(re: RegExp, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timeout waiting for ${re}; got:\n${this.transcript.slice(this.consumed)}`));
      }, timeoutMs);
      const check = () => {
        const fresh = this.transcript.slice(this.consumed);
        const m = re.exec(fresh);
        if (m) {
          clearTimeout(timer);
          this.waiter = undefined;
          this.consumed += m.index + m[0].length;
          resolve(fresh.slice(0, m.index + m[0].length));
        } else if (this.closed) {
          clearTimeout(timer);
          this.waiter = undefined;
          reject(new Error(`closed while waiting for ${re}; got:\n${fresh}`));
        }
      };
      this.waiter = check;
      check();
    });
  }

  /** Send a line and wait for the reply matching `re`. */
  async command(line: string, re: RegExp, timeoutMs?: number): Promise<string> {
    this.send(`${line}\r\n`);
    return this.until(re, timeoutMs);
  }

  /** Resolves once the server has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve();
      const timer = setTimeout(() => reject(new Error(`still open; got:\n${this.transcript}`)), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** TLS over the same TCP connection (after STLS / STARTTLS was accepted). */
  async startTls(): Promise<void> {
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.attach(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}
