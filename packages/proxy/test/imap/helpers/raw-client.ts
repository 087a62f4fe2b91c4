import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { PROXY_IP } from './cluster.js';

const run = promisify(execFile);

/**
 * A line-level IMAP client over a plain socket, for what imapflow will not send (garbage, literals
 * by hand, half a login). `expect` consumes the transcript: each call looks past the previous match.
 */
export class RawClient {
  transcript = '';
  private pos = 0;
  private waiter: (() => void) | undefined;
  private closedFlag = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.transcript += chunk;
      this.waiter?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedFlag = true;
      this.waiter?.();
    });
  }

  static async connect(port: number, opts: { localAddress?: string } = {}): Promise<RawClient> {
    const socket = connect({ host: PROXY_IP, port, ...opts });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    await client.expect(/^\* OK .*ready\.\r\n/m);
    return client;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(data: string): void {
    this.socket.write(data, 'latin1');
  }

  /** Waits until the unread part of the transcript matches; returns the match and marks it read. */
  async expect(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.transcript.slice(this.pos);
      const m = re.exec(rest);
      if (m) {
        this.pos += m.index + m[0].length;
        return m[0];
      }
      if (this.closedFlag) throw new Error(`closed before ${re}; transcript:\n${this.transcript}`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; transcript:\n${this.transcript}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Resolves once the server has closed the connection. */
  async expectClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag) {
      if (Date.now() > deadline) throw new Error(`still open; transcript:\n${this.transcript}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Polls until `check` returns true (or throws after the timeout with the last value). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Established TCP connections from this host to ip:port, as the kernel sees them. */
export async function establishedTo(ip: string, port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Htn', 'state', 'established', 'dst', `${ip}:${port}`]);
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}
