import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ProxyError } from '../errors.js';
import { LineReader } from '../net/line-reader.js';

export interface BackendTlsOptions {
  /** 'implicit': TLS from the first byte; 'starttls': the protocol upgrades after the greeting. */
  readonly mode: 'implicit' | 'starttls';
  readonly ca?: string | Buffer;
  /** Verify the backend's certificate (default true; 'any-cert' in Dovecot terms is false). */
  readonly verify?: boolean;
  readonly servername?: string;
}

export interface BackendTarget {
  readonly ip: string;
  readonly port: number;
  readonly tls?: BackendTlsOptions;
}

/** A connection to one backend, with a line reader for its login phase. */
export class BackendConnection {
  socket: Socket;
  reader: LineReader;
  readonly target: BackendTarget;

  private constructor(socket: Socket, target: BackendTarget, limits: { maxLineLength: number; idleTimeoutMs: number }) {
    this.socket = socket;
    this.target = target;
    this.reader = new LineReader(socket, limits);
  }

  /** Connect with a deadline; rejects with BACKEND_CONNECT / BACKEND_TIMEOUT naming the backend. */
  static async open(
    target: BackendTarget,
    opts: { connectTimeoutMs: number; idleTimeoutMs: number; maxLineLength?: number; localAddress?: string },
  ): Promise<BackendConnection> {
    const ctx = { backend: `${target.ip}:${target.port}` };
    const socket = await new Promise<Socket>((resolve, reject) => {
      const implicit = target.tls?.mode === 'implicit';
      const base = {
        host: target.ip,
        port: target.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      };
      const s: Socket = implicit ? tlsConnect({ ...base, ...tlsOptions(target) }) : netConnect(base);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ProxyError('BACKEND_TIMEOUT', 'backend connect timed out', { ...ctx, ms: opts.connectTimeoutMs }));
      }, opts.connectTimeoutMs);
      s.once(implicit ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', () => {}); // later errors surface through the reader
        resolve(s);
      });
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(new ProxyError('BACKEND_CONNECT', `backend connect failed: ${e.message}`, ctx));
      };
      s.once('error', onError);
    });
    socket.setNoDelay(true);
    return new BackendConnection(socket, target, {
      maxLineLength: opts.maxLineLength ?? 65536,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Upgrade after the protocol's STARTTLS/STLS exchange. */
  async startTls(): Promise<void> {
    const rest = this.reader.detach();
    if (rest.length > 0)
      throw new ProxyError('BACKEND_PROTOCOL', 'backend sent data before TLS', { backend: this.target.ip });
    const secure: TLSSocket = await new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: this.socket, ...tlsOptions(this.target) });
      s.once('secureConnect', () => resolve(s));
      s.once('error', (e) =>
        reject(new ProxyError('TLS', `backend TLS failed: ${e.message}`, { backend: this.target.ip })),
      );
    });
    secure.on('error', () => {});
    this.socket = secure;
    this.reader = new LineReader(secure, {
      maxLineLength: this.reader.maxLineLength,
      idleTimeoutMs: this.reader.idleTimeoutMs,
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function tlsOptions(target: BackendTarget): ConnectionOptions {
  const t = target.tls;
  return {
    rejectUnauthorized: t?.verify ?? true,
    ...(t?.ca ? { ca: t.ca } : {}),
    // an IP as SNI is not allowed; verification against the IP still works through the SAN
    ...(t?.servername ? { servername: t.servername } : {}),
  };
}
