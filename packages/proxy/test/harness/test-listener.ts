import { createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { ClientConnection, DEFAULT_LIMITS, newSessionId } from '@usher/proxy';

/**
 * A stand-in for the real listener in protocol tests: accept, optionally TLS, wrap in a
 * ClientConnection and hand to the protocol's handler. Deliberately tiny so a protocol test
 * exercises the protocol, not the listener.
 */
export interface TestListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface TestListenerOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (pop3s). */
  readonly implicitTls?: SecureContext;
  /** In login_trusted_networks: plaintext logins allowed without TLS. */
  readonly trusted?: boolean;
  readonly idleTimeoutMs?: number;
  readonly maxLineLength?: number;
}

export async function startTestListener(
  opts: TestListenerOptions,
  handler: (conn: ClientConnection) => Promise<void>,
): Promise<TestListener> {
  const sockets = new Set<Socket>();
  const limits = {
    maxLineLength: opts.maxLineLength ?? DEFAULT_LIMITS.maxLineLength,
    idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
  };
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    const start = (socket: Socket) => {
      const info = {
        sessionId: newSessionId(),
        clientIp: raw.remoteAddress ?? '',
        clientPort: raw.remotePort ?? 0,
        localIp: raw.localAddress ?? '',
        localPort: raw.localPort ?? 0,
        trusted: opts.trusted ?? false,
      };
      const conn = new ClientConnection(socket, info, limits, { tls: opts.implicitTls !== undefined });
      // the handler promises never to reject; a rejection here fails the test run loudly
      void handler(conn);
    };
    if (!opts.implicitTls) return start(raw);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: opts.implicitTls });
    secure.on('error', () => raw.destroy());
    secure.once('secure', () => start(secure));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host: opts.host, port: opts.port }, () => ok());
  });
  return {
    port: opts.port,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
