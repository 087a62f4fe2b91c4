import { connect, createServer, type Socket } from 'node:net';
import {
  type ClientConnection,
  type Listener,
  type ListenerOptions,
  NetworkList,
  type ProxyContext,
  type ProxyProtocol,
  startListener,
} from '@usher/proxy';
import { expect } from 'vitest';
import { fixedRouter, testContext } from './test-context.js';

/** What the fuzz tests' sessions run with: small limits, so hostile input reaches them quickly. */
export const HOSTILE_LIMITS = {
  maxLineLength: 1024,
  maxPreAuthLiteral: 4096,
  preAuthIdleTimeoutMs: 400,
  authFailureDelayMs: 5,
  backendConnectTimeoutMs: 500,
  backendLoginTimeoutMs: 500,
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A real listener whose handler runs are watched: which are still running, which rejected, what they read. */
export interface HostileServer {
  readonly port: number;
  /** Handler runs that have not settled yet. */
  readonly running: Set<Promise<void>>;
  readonly rejected: unknown[];
  /** Bytes the server read per raw connection, at close. */
  readonly bytesRead: number[];
  close(): Promise<void>;
}

/** A port nobody listens on: logins routed there end in "backend unavailable". */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export function hostileContext(backendPort: number): ProxyContext {
  return testContext({
    router: fixedRouter('127.0.0.1'),
    backendPorts: { imap: backendPort, pop3: backendPort, lmtp: backendPort, managesieve: backendPort },
    limits: HOSTILE_LIMITS,
  });
}

export async function startHostileServer(
  protocol: ProxyProtocol,
  handler: (conn: ClientConnection, ctx: ProxyContext) => Promise<void>,
  ctx: ProxyContext,
  extra: Partial<ListenerOptions> = {},
): Promise<HostileServer> {
  const running = new Set<Promise<void>>();
  const rejected: unknown[] = [];
  const bytesRead: number[] = [];
  const listener: Listener = await startListener(
    {
      name: `fuzz-${protocol}`,
      protocol,
      address: '127.0.0.1',
      port: 0,
      haproxyTrusted: NetworkList.parse(''),
      loginTrusted: NetworkList.parse('127.0.0.0/8'),
      limits: { maxLineLength: HOSTILE_LIMITS.maxLineLength, idleTimeoutMs: HOSTILE_LIMITS.preAuthIdleTimeoutMs },
      refuseLine: (r) => `BYE ${r}\r\n`,
      ...extra,
    },
    (conn) => {
      const raw = conn.socket;
      raw.once('close', () => bytesRead.push(raw.bytesRead));
      const p = handler(conn, ctx).catch((e: unknown) => {
        rejected.push(e);
      });
      running.add(p);
      void p.finally(() => running.delete(p));
      return p;
    },
  );
  return {
    port: listener.address().port,
    running,
    rejected,
    bytesRead,
    close: async () => {
      listener.closeAll();
      await listener.stopAccepting();
    },
  };
}

export type Delivery = 'whole' | 'bytewise' | 'chunks';
export type Ending = 'end' | 'destroy' | 'silence';

/** Sends `bytes` as told, ends as told; resolves with what the server said once the socket is gone. */
export function play(
  port: number,
  bytes: Buffer,
  delivery: Delivery,
  ending: Ending,
  cuts: number[] = [],
): Promise<string> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ host: '127.0.0.1', port });
    let received = '';
    sock.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    sock.on('error', () => {});
    sock.on('close', () => resolve(received));
    sock.on('connect', async () => {
      const pieces: Buffer[] = [];
      if (delivery === 'whole') pieces.push(bytes);
      else if (delivery === 'bytewise') for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
      else {
        let from = 0;
        for (const at of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          if (at > from) pieces.push(bytes.subarray(from, at));
          from = Math.max(from, at);
        }
      }
      for (const p of pieces) {
        if (sock.destroyed) break;
        sock.write(p);
        if (delivery !== 'whole') await new Promise((r) => setImmediate(r));
      }
      if (ending === 'end') sock.end();
      else if (ending === 'destroy') sock.destroy();
      else setTimeout(() => sock.destroy(), 30);
    });
  });
}

/** Connects, writes `data`, then reads until the server closes; resolves with the time that took. */
export function closeTime(port: number, data: Buffer | string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.resume(); // a socket nobody reads never sees the server's FIN
    sock.on('error', () => {});
    sock.on('close', () => resolve(Date.now() - started));
    sock.on('connect', () => sock.write(data));
  });
}

/** Every handler has returned (or does so shortly) and none rejected: nothing is left hanging. */
export async function settled(s: HostileServer): Promise<void> {
  for (let i = 0; i < 100 && s.running.size > 0; i++) await sleep(20);
  expect(s.running.size).toBe(0);
  expect(s.rejected).toEqual([]);
}

/** Collects unhandled rejections and uncaught exceptions between start() and stop(). */
export function watchUnhandled(): { readonly seen: unknown[]; start(): void; stop(): void } {
  const seen: unknown[] = [];
  const on = (e: unknown) => seen.push(e);
  return {
    seen,
    start() {
      seen.length = 0;
      process.on('unhandledRejection', on);
      process.on('uncaughtException', on);
    },
    stop() {
      process.off('unhandledRejection', on);
      process.off('uncaughtException', on);
    },
  };
}
