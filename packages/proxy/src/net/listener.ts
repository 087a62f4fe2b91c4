import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { type ProxyLogger, silentLogger } from '../context.js';
import { ignoreSocketError, ProxyError } from '../errors.js';
import type { ProxyProtocol } from '../session/registry.js';
import { newSessionId } from '../session/session-id.js';
import { type NetworkList, normaliseIp } from './cidr.js';
import { ClientConnection, type ConnectionInfo, type ConnectionLimits } from './client-connection.js';
import { ConnectionLimiter } from './connection-limiter.js';
import { type ProxyHeader, proxiedTls, readProxyHeader } from './proxy-protocol.js';

/** Why a connection is turned away, as the text refuseLine puts in the protocol's goodbye. */
export const REFUSE_TOO_MANY_CONNECTIONS = 'Too many connections';
export const REFUSE_SHUTTING_DOWN = 'Server shutting down.';

export interface ListenerOptions {
  /** For logs ("imap", "imaps-haproxy", ...). */
  readonly name: string;
  readonly protocol: ProxyProtocol;
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Implicit TLS (imaps, pop3s). */
  readonly tls?: SecureContext;
  /** The connection starts with a PROXY v1/v2 header from a haproxy_trusted_networks source. */
  readonly haproxy?: boolean;
  readonly haproxyTrusted: NetworkList;
  readonly loginTrusted: NetworkList;
  /** haproxy_timeout: the header must be complete this soon after accept. Default 3 s. */
  readonly haproxyTimeoutMs?: number;
  /** Implicit TLS handshake deadline. Default: limits.idleTimeoutMs, as for STARTTLS. */
  readonly tlsHandshakeTimeoutMs?: number;
  /** Per real client IP. Absent or 0: unlimited. */
  readonly maxConnectionsPerIp?: number;
  readonly limits: ConnectionLimits;
  /** The protocol's one-line goodbye, CRLF included (IMAP: "* BYE Too many connections\r\n"). */
  readonly refuseLine: (reason: string) => string;
  readonly log?: ProxyLogger;
}

export type ConnectionHandler = (conn: ClientConnection) => Promise<void>;

export interface Listener {
  address(): { address: string; port: number };
  /** Open client connections, from accept until their socket closes or closeAll (spliced sessions included). */
  readonly connections: number;
  /** Close the listening socket; connections already accepted keep running. */
  stopAccepting(): Promise<void>;
  /** Say goodbye (default: refuseLine(REFUSE_SHUTTING_DOWN)) to every open connection and close it. */
  closeAll(line?: string): void;
}

export const DEFAULT_HAPROXY_TIMEOUT_MS = 3000;

interface Tracked {
  readonly raw: Socket;
  conn?: ClientConnection;
}

export async function startListener(opts: ListenerOptions, handler: ConnectionHandler): Promise<Listener> {
  const log = opts.log ?? silentLogger;
  const limiter = new ConnectionLimiter(opts.maxConnectionsPerIp ?? 0);
  const tracked = new Set<Tracked>();
  const server = createServer();
  const base = { listener: opts.name, protocol: opts.protocol };

  // one function for every socket (`this` is the socket): a closure per connection would be kept by
  // each socket for as long as its session lives
  function onSocketError(this: Socket, e: Error): void {
    log.debug('client socket error', { ...base, ip: this.remoteAddress, error: e.message });
  }

  const onConnection = (raw: Socket) => {
    const entry: Tracked = { raw };
    tracked.add(entry);
    raw.setNoDelay(true);
    raw.on('error', onSocketError);
    let release: (() => void) | undefined;
    // 'close' comes once: on() spares the wrapper once() would keep for the session's lifetime
    raw.on('close', () => {
      tracked.delete(entry);
      release?.();
    });
    const setup = async (): Promise<void> => {
      const { remoteAddress: ip, remotePort: port } = raw;
      if (ip === undefined || port === undefined) {
        // already gone between accept and now
        raw.destroy();
        return;
      }
      const peer = { ip, port };
      let header: ProxyHeader | undefined;
      let rest: Buffer = Buffer.alloc(0);
      if (opts.haproxy) {
        if (!opts.haproxyTrusted.contains(peer.ip)) {
          log.warn('connection to a haproxy listener from outside haproxy_trusted_networks', { ...base, ...peer });
          raw.destroy();
          return;
        }
        ({ header, rest } = await readProxyHeader(raw, opts.haproxyTimeoutMs ?? DEFAULT_HAPROXY_TIMEOUT_MS));
      }
      const info = connectionInfo(raw, peer, header, opts.loginTrusted);
      const fields = { ...base, session: info.sessionId, ip: info.clientIp, port: info.clientPort };
      const slot = limiter.tryAcquire(info.clientIp);
      release = slot;
      // the socket may have closed while the header was read, before the close handler could see this slot
      if (raw.destroyed) slot?.();
      const conn = opts.tls
        ? await wrapTls(raw, rest, opts.tls, opts.tlsHandshakeTimeoutMs ?? opts.limits.idleTimeoutMs, info, opts.limits)
        : new ClientConnection(raw, info, opts.limits, { tls: false, initial: rest });
      entry.conn = conn;
      if (!slot) {
        log.info('too many connections from this IP', { ...fields, max: limiter.maxPerIp });
        conn.close(opts.refuseLine(REFUSE_TOO_MANY_CONNECTIONS));
        return;
      }
      log.debug('connection accepted', { ...fields, proxied: header !== undefined, tls: conn.tls });
      try {
        await handler(conn);
      } catch (e) {
        // one session's bug must cost that session only, never the process
        const level = e instanceof ProxyError ? 'info' : 'error';
        log[level]('session ended with an error', { ...fields, error: e instanceof Error ? e.message : String(e) });
        conn.close();
      }
    };
    setup().catch((e: unknown) => {
      log.info('connection setup failed', {
        ...base,
        ip: raw.remoteAddress,
        error: e instanceof Error ? e.message : String(e),
      });
      raw.destroy();
    });
  };

  server.on('connection', onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.address, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // accept failures (EMFILE, ...) come as 'error' events; unhandled they would end the process
  server.on('error', (e) => log.error('listener error', { ...base, error: e.message }));
  const bound = server.address() as AddressInfo;
  return makeListener(server, { address: bound.address, port: bound.port }, tracked, opts);
}

function makeListener(
  server: Server,
  bound: { address: string; port: number },
  tracked: Set<Tracked>,
  opts: ListenerOptions,
): Listener {
  return {
    address: () => bound,
    get connections() {
      return tracked.size;
    },
    async stopAccepting() {
      // server.close's callback waits for every connection to end; the listening socket itself is closed now
      server.close(() => {});
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    closeAll(line?: string) {
      const goodbye = line ?? opts.refuseLine(REFUSE_SHUTTING_DOWN);
      for (const entry of [...tracked]) {
        tracked.delete(entry);
        const conn = entry.conn;
        // before the session exists there is no protocol to say goodbye in (PROXY header, TLS handshake)
        if (!conn || conn.isClosed) {
          entry.raw.destroy();
          continue;
        }
        const sock = conn.socket;
        sock.once('finish', () => sock.destroy());
        conn.close(goodbye);
      }
    },
  };
}

function connectionInfo(
  raw: Socket,
  peer: { ip: string; port: number },
  header: ProxyHeader | undefined,
  loginTrusted: NetworkList,
): ConnectionInfo {
  const addrs = header?.addresses;
  const clientIp = normaliseIp(addrs ? addrs.source.ip : peer.ip);
  return {
    sessionId: newSessionId(),
    clientIp,
    clientPort: addrs ? addrs.source.port : peer.port,
    localIp: normaliseIp(addrs ? addrs.destination.ip : (raw.localAddress ?? '')),
    localPort: addrs ? addrs.destination.port : (raw.localPort ?? 0),
    trusted: loginTrusted.contains(clientIp),
    ...(header && proxiedTls(header) && { proxiedTls: true }),
  };
}

/**
 * Implicit TLS starts after the PROXY header: HAProxy in TCP mode sends the header, then relays the
 * client's ClientHello. Bytes read past the header go back on the socket; TLSSocket consumes a
 * wrapped socket's buffered data before reading from the handle, so the ClientHello is not lost.
 */
async function wrapTls(
  raw: Socket,
  rest: Buffer,
  context: SecureContext,
  timeoutMs: number,
  info: ConnectionInfo,
  limits: ConnectionLimits,
): Promise<ClientConnection> {
  if (rest.length > 0) raw.unshift(rest);
  const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
  // a late error (after a timeout already rejected) must not become an uncaught exception
  secure.on('error', ignoreSocketError);
  await new Promise<void>((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      secure.off('secure', onSecure);
      secure.off('error', onError);
      secure.off('close', onClose);
      fn();
    };
    const onSecure = () => done(resolve);
    const onError = (e: Error) => done(() => reject(new ProxyError('TLS', `TLS handshake failed: ${e.message}`, {})));
    const onClose = () => done(() => reject(new ProxyError('DISCONNECTED', 'closed during TLS handshake', {})));
    const timer = setTimeout(
      () => done(() => reject(new ProxyError('TLS', 'TLS handshake timeout', { ms: timeoutMs }))),
      timeoutMs,
    );
    secure.on('secure', onSecure);
    secure.on('error', onError);
    secure.on('close', onClose);
  });
  return new ClientConnection(secure, info, limits, { tls: true });
}
