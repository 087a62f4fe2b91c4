import { connect, type Socket } from 'node:net';
import {
  type ClientConnection,
  type Listener,
  type ListenerOptions,
  NetworkList,
  type ProxyLogger,
  startListener,
} from '@usher/proxy';

/** Addresses reserved for these tests; other test files run in parallel on other loopback addresses. */
export const LISTEN_IP = '127.0.6.1';
export const TRUSTED_PROXY = '127.0.16.10';
export const UNTRUSTED_PROXY = '127.0.16.20';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export function captureLogger(): ProxyLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      entries.push({ level, message, fields });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface Harness {
  readonly listener: Listener;
  readonly port: number;
  readonly log: ReturnType<typeof captureLogger>;
  /** Every connection the handler was given, in order. */
  readonly accepted: ClientConnection[];
  /** Resolves with the n-th (1-based) accepted connection. */
  nth(n: number, timeoutMs?: number): Promise<ClientConnection>;
  stop(): Promise<void>;
}

/**
 * A listener whose handler echoes each line as "ECHO <line>", so a test can tell that bytes
 * reached the protocol, and in which order.
 */
export async function startHarness(
  overrides: Partial<ListenerOptions> = {},
  handler?: (conn: ClientConnection) => Promise<void>,
): Promise<Harness> {
  const log = captureLogger();
  const accepted: ClientConnection[] = [];
  let wake: (() => void) | undefined;
  const echo = async (conn: ClientConnection) => {
    for (;;) {
      let line: Buffer;
      try {
        line = await conn.reader.readLine();
      } catch {
        conn.close();
        return;
      }
      conn.write(`ECHO ${line.toString('latin1')}\r\n`);
    }
  };
  const listener = await startListener(
    {
      name: 'test',
      protocol: 'imap',
      address: LISTEN_IP,
      port: 0,
      haproxyTrusted: NetworkList.parse(`${TRUSTED_PROXY}/32`),
      loginTrusted: NetworkList.empty,
      limits: { maxLineLength: 1024, idleTimeoutMs: 5000 },
      refuseLine: (reason) => `* BYE ${reason}\r\n`,
      log,
      ...overrides,
    },
    async (conn) => {
      accepted.push(conn);
      wake?.();
      await (handler ?? echo)(conn);
    },
  );
  const nth = (n: number, timeoutMs = 3000) =>
    new Promise<ClientConnection>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection ${n} never reached the handler`)), timeoutMs);
      const check = () => {
        const c = accepted[n - 1];
        if (c) {
          clearTimeout(timer);
          resolve(c);
        } else wake = check;
      };
      check();
    });
  return {
    listener,
    port: listener.address().port,
    log,
    accepted,
    nth,
    async stop() {
      await listener.stopAccepting();
      listener.closeAll();
    },
  };
}

/** A client socket bound to `from`, with everything it receives collected. */
export class Peer {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;
  private waiter: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number, from: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: LISTEN_IP, port, localAddress: from });
      s.setNoDelay(true);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new Peer(s));
      });
    });
  }

  /** Wrap an already connected socket (e.g. a TLS socket over the raw one). */
  static over(socket: Socket): Peer {
    return new Peer(socket);
  }

  push(d: Buffer): void {
    this.received = Buffer.concat([this.received, d]);
    this.waiter?.();
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once the received text contains `expected`. */
  waitFor(expected: string, timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`never got ${JSON.stringify(expected)}; got ${JSON.stringify(this.text)}`)),
        timeoutMs,
      );
      const check = () => {
        if (this.text.includes(expected)) {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        } else this.waiter = check;
      };
      check();
    });
  }

  /** Resolves when the server has closed the connection; rejects if it stays open. */
  async expectClosed(timeoutMs = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open; got ${JSON.stringify(this.text)}`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond holds (listener counters settle after socket close events). */
export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition never became true');
    await sleep(10);
  }
}
