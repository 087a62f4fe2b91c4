import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext } from 'node:tls';
import {
  type BackendPorts,
  type BackendTlsOptions,
  ClientConnection,
  DEFAULT_LIMITS,
  handleImapConnection,
  newSessionId,
  type ProxyContext,
  type ProxyLimits,
  type ProxyLogger,
  SessionRegistry,
} from '../../../src/index.js';
import type { Certs } from './cluster.js';
import { PROXY_IP } from './cluster.js';
import type { TestRouter } from './router.js';

export interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export interface TestProxyOptions {
  readonly port: number;
  readonly router: TestRouter;
  readonly certs: Certs;
  /** login_trusted_networks in effect for every client of this listener. */
  readonly trusted: boolean;
  /** Implicit TLS from the first byte (imaps); otherwise plaintext with STARTTLS offered. */
  readonly implicitTls?: boolean;
  readonly offerStarttls?: boolean;
  readonly limits?: Partial<ProxyLimits>;
  readonly backendTls?: BackendTlsOptions;
  readonly backendPorts?: Partial<BackendPorts>;
}

export interface TestProxy {
  readonly ctx: ProxyContext;
  readonly port: number;
  readonly logs: LogEntry[];
  /** Sessions whose handleImapConnection has not resolved yet (it resolves once a login is spliced). */
  readonly running: number;
  /** Resolves when every session handled so far has finished, proxied ones included. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** What the real listener will do, reduced to what these tests need: wrap, then hand over. */
export async function startTestProxy(opts: TestProxyOptions): Promise<TestProxy> {
  const logs: LogEntry[] = [];
  const record =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      logs.push({ level, message, fields });
    };
  const log: ProxyLogger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  const tls: SecureContext = createSecureContext({ cert: opts.certs.cert, key: opts.certs.key });
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, authFailureDelayMs: 300, ...opts.limits };
  const ctx: ProxyContext = {
    router: opts.router,
    registry: new SessionRegistry(),
    log,
    limits,
    ...(opts.offerStarttls !== false && !opts.implicitTls ? { tls } : {}),
    backendPorts: { imap: 143, pop3: 110, lmtp: 24, managesieve: 4190, ...opts.backendPorts },
    ...(opts.backendTls ? { backendTls: opts.backendTls } : {}),
    masterSeparator: '*',
    tag: '',
    greetingName: 'Usher',
    proxyTtl: 5,
  };
  const sockets = new Set<Socket>();
  const sessions = new Set<Promise<void>>();
  const serve = (socket: Socket, secure: boolean) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const info = {
      sessionId: newSessionId(),
      clientIp: socket.remoteAddress ?? '',
      clientPort: socket.remotePort ?? 0,
      localIp: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      trusted: opts.trusted,
    };
    const conn = new ClientConnection(
      socket,
      info,
      { maxLineLength: limits.maxLineLength, idleTimeoutMs: limits.preAuthIdleTimeoutMs },
      { tls: secure },
    );
    const session = handleImapConnection(conn, ctx);
    sessions.add(session);
    // handleImapConnection never rejects; a rejection here fails the test run as unhandled
    void session.then(() => sessions.delete(session));
  };
  const server: Server = opts.implicitTls
    ? createTlsServer({ cert: opts.certs.cert, key: opts.certs.key }, (s) => serve(s, true))
    : createServer((s) => serve(s, false));
  if (opts.implicitTls) server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: PROXY_IP, port: opts.port }, () => resolve());
  });
  return {
    ctx,
    port: opts.port,
    logs,
    get running() {
      return sessions.size;
    },
    settled: async () => {
      await Promise.all([...sessions]);
      // a handler resolves once its client is spliced; the proxied session lasts until the registry lets go of it
      const deadline = Date.now() + 10_000;
      while (ctx.registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
