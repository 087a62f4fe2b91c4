import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { ignoreSocketError, ProxyError } from '../errors.js';
import { LineReader } from './line-reader.js';

/** Who is on the other end, after any PROXY header: what backends are told and what logs name. */
export interface ConnectionInfo {
  readonly sessionId: string;
  readonly clientIp: string;
  readonly clientPort: number;
  /** The address the client connected to (the PROXY header's destination when behind HAProxy). */
  readonly localIp: string;
  readonly localPort: number;
  /** In login_trusted_networks: plaintext logins are allowed without TLS. */
  readonly trusted: boolean;
  /** The client reached us through a trusted HAProxy that said the client side was TLS. */
  readonly proxiedTls?: boolean;
}

export interface ConnectionLimits {
  readonly maxLineLength: number;
  readonly idleTimeoutMs: number;
}

/**
 * One client connection during pre-auth: the socket, a reader over it, and STARTTLS.
 * After a successful login the session detaches the reader and splices the socket.
 */
export class ClientConnection {
  readonly info: ConnectionInfo;
  private sock: Socket;
  private rd: LineReader | undefined;
  private tlsActive: boolean;
  private readonly limits: ConnectionLimits;
  private closed = false;

  constructor(
    socket: Socket,
    info: ConnectionInfo,
    limits: ConnectionLimits,
    opts: { tls: boolean; initial?: Buffer },
  ) {
    this.sock = socket;
    this.info = info;
    this.limits = limits;
    this.tlsActive = opts.tls;
    this.rd = new LineReader(socket, limits);
    if (opts.initial && opts.initial.length > 0) socket.unshift(opts.initial);
    // surfaced through the reader; without a listener an error event would crash the process
    socket.on('error', ignoreSocketError);
  }

  get socket(): Socket {
    return this.sock;
  }

  get reader(): LineReader {
    if (!this.rd) throw new ProxyError('DETACHED', 'connection handed over to its proxied session', {});
    return this.rd;
  }

  /**
   * For the logged-in session, which needs only the socket: detach the reader and let it go (an
   * idle session should not keep pre-auth state); returns the bytes it had read ahead.
   */
  handOff(): Buffer {
    const rest = this.reader.detach();
    this.rd = undefined;
    return rest;
  }

  /** TLS on the client side (implicit, STARTTLS, or a trusted HAProxy's word). */
  get tls(): boolean {
    return this.tlsActive || this.info.proxiedTls === true;
  }

  /** Secured in Dovecot's sense: plaintext authentication is allowed. */
  get secured(): boolean {
    return this.tls || this.info.trusted;
  }

  get isClosed(): boolean {
    return this.closed || this.sock.destroyed;
  }

  write(data: string | Buffer): void {
    if (!this.isClosed) this.sock.write(data);
  }

  /**
   * Upgrade in place. Bytes the client pipelined after the STARTTLS command would be
   * processed as if they came over TLS (the command-injection hole of RFC 3207 §6), so refuse them.
   */
  async startTls(context: SecureContext): Promise<void> {
    if (this.tlsActive) throw new ProxyError('TLS', 'TLS already active', {});
    const rest = this.reader.detach();
    if (rest.length > 0) throw new ProxyError('PROTOCOL', 'data pipelined after STARTTLS', { bytes: rest.length });
    const secure = new TLSSocket(this.sock, { isServer: true, secureContext: context });
    secure.on('error', ignoreSocketError);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ProxyError('TLS', 'TLS handshake timeout', {})),
        this.limits.idleTimeoutMs,
      );
      secure.once('secure', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (e) => {
        clearTimeout(timer);
        reject(new ProxyError('TLS', `TLS handshake failed: ${e.message}`, {}));
      });
      secure.once('close', () => {
        clearTimeout(timer);
        reject(new ProxyError('DISCONNECTED', 'closed during TLS handshake', {}));
      });
    });
    this.sock = secure;
    this.tlsActive = true;
    this.rd = new LineReader(secure, this.limits);
  }

  /** Write a last line (if any) and close. */
  close(lastLine?: string): void {
    if (this.closed) return;
    this.closed = true;
    if (lastLine !== undefined && !this.sock.destroyed) this.sock.end(lastLine);
    else this.sock.end();
    // a client that never reads must not hold the socket open
    setTimeout(() => this.sock.destroy(), 2000).unref();
  }
}
