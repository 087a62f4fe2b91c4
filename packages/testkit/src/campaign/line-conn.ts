import { connect, type Socket } from 'node:net';

export class ConnClosed extends Error {}
export class ConnTimeout extends Error {}

/**
 * A CRLF line client for the load generators: raw sockets rather than imapflow/nodemailer, so every
 * failure (refused, reset, BYE, silence) is visible as it happened, which the ledger needs to tell
 * a definite failure from an ambiguous one.
 */
export class LineConn {
  private readonly socket: Socket;
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: { resolve: (l: string) => void; reject: (e: Error) => void } | undefined;
  private closedWith: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        this.lines.push(this.buffer.slice(0, i).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(i + 1);
      }
      this.wake();
    });
    socket.on('error', (e) => this.fail(new ConnClosed(e.message)));
    socket.on('close', () => this.fail(new ConnClosed('connection closed')));
  }

  static open(host: string, port: number, timeoutMs = 5000): Promise<LineConn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnTimeout(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LineConn(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConnClosed(e.message));
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  readLine(timeoutMs: number): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ConnTimeout(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  write(data: string | Buffer): void {
    if (!this.closedWith) this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const line = this.lines.shift();
    if (line === undefined) return;
    this.waiter = undefined;
    w.resolve(line);
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    const w = this.waiter;
    if (w && this.lines.length === 0) {
      this.waiter = undefined;
      w.reject(this.closedWith);
    }
  }
}
