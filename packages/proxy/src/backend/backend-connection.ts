import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ignoreSocketError, ProxyError } from '../errors.js';
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

/**
 * What a plain backend socket reads goes to `sink`. `borrowed`: the bytes sit in a buffer the next
 * read overwrites, so the sink must be done with them when it returns, or return false (reading
 * pauses) and resume the socket once it no longer needs them. Otherwise the chunk is the sink's.
 */
export type BackendSink = (chunk: Buffer, borrowed: boolean) => boolean;

/** Reads of every plain backend socket land here first; copied out at once, so one buffer serves all. */
const SHARED_READ = Buffer.allocUnsafeSlow(64 * 1024);
/** A socket whose last read filled SHARED_READ is streaming: it reads this much at a time, zero-copy. */
export const STREAM_READ_BYTES = 256 * 1024;
/** Stream buffers not in use, kept for the next burst (a fresh one costs a page fault per 4 KiB). */
const streamPool: Buffer[] = [];
const STREAM_POOL_MAX = 16;

function releaseStreamBuffer(buf: Buffer): void {
  if (streamPool.length < STREAM_POOL_MAX) streamPool.push(buf);
}

/**
 * The read side of a plain backend socket (Node's `onread`): Node would allocate a 64 KiB buffer
 * per read and emit it through the stream machinery. Small reads (the login, interactive replies)
 * land in one shared buffer and are copied out; a socket that fills it is streaming (a FETCH) and
 * reads into a 256 KiB buffer of its own, handed to the sink without a copy. That buffer goes back
 * to a small process-wide pool as soon as a read comes back short and its bytes are written, so an
 * idle session holds no read buffer at all.
 */
export class BackendReads {
  /** Until its owner sets one: keep what arrives (copied) and pause, for takeHeld(). */
  sink: BackendSink = (chunk, borrowed) => {
    this.held.push(borrowed ? Buffer.from(chunk) : chunk);
    return false;
  };
  private own: Buffer | undefined;
  /** Given up after a short read, but the sink may still be writing from it. */
  private retiring: Buffer | undefined;
  private armed: Buffer = SHARED_READ;
  private held: Buffer[] = [];

  readonly buffer = (): Buffer => this.armed;

  readonly callback = (n: number, buf: Buffer): boolean => {
    if (buf === SHARED_READ) {
      if (n === buf.length) {
        this.own ??= streamPool.pop() ?? Buffer.allocUnsafeSlow(STREAM_READ_BYTES);
        this.armed = this.own;
      }
      return this.sink(Buffer.from(buf.subarray(0, n)), false);
    }
    if (n < SHARED_READ.length) {
      // the burst is over: the next read goes to the shared buffer
      this.armed = SHARED_READ;
      this.retiring = this.own;
      this.own = undefined;
    }
    const more = this.sink(buf.subarray(0, n), true);
    if (more) this.chunkWritten();
    return more;
  };

  /** The sink no longer needs the last borrowed chunk (it returned false and has written it since). */
  chunkWritten(): void {
    if (this.retiring) releaseStreamBuffer(this.retiring);
    this.retiring = undefined;
  }

  /** What arrived before the first sink was set; undefined when nothing did. */
  takeHeld(): Buffer | undefined {
    const held = this.held;
    if (held.length === 0) return undefined;
    this.held = [];
    return held.length === 1 ? held[0] : Buffer.concat(held);
  }
}

/** A connection to one backend, with a line reader for its login phase. */
export class BackendConnection {
  socket: Socket;
  private rd: LineReader | undefined;
  readonly target: BackendTarget;
  /** Set for plain backends: the socket reads through it (the reader is fed from it during login). */
  readonly reads: BackendReads | undefined;

  private constructor(
    socket: Socket,
    target: BackendTarget,
    limits: { maxLineLength: number; idleTimeoutMs: number },
    reads: BackendReads | undefined,
  ) {
    this.socket = socket;
    this.target = target;
    this.reads = reads;
    const reader = new LineReader(socket, { ...limits, external: reads !== undefined });
    this.rd = reader;
    if (reads) {
      const early = reads.takeHeld();
      reads.sink = (chunk, borrowed) => {
        reader.feed(borrowed ? Buffer.from(chunk) : chunk);
        return true;
      };
      if (early) {
        reader.feed(early);
        socket.resume();
      }
    }
  }

  /** Connect with a deadline; rejects with BACKEND_CONNECT / BACKEND_TIMEOUT naming the backend. */
  static async open(
    target: BackendTarget,
    opts: { connectTimeoutMs: number; idleTimeoutMs: number; maxLineLength?: number; localAddress?: string },
  ): Promise<BackendConnection> {
    const ctx = { backend: `${target.ip}:${target.port}` };
    // TLS backends (implicit or STARTTLS) keep Node's own reads: TLS wraps the socket's handle
    const reads = target.tls ? undefined : new BackendReads();
    const socket = await new Promise<Socket>((resolve, reject) => {
      const implicit = target.tls?.mode === 'implicit';
      const base = {
        host: target.ip,
        port: target.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      };
      const s: Socket = implicit
        ? tlsConnect({ ...base, ...tlsOptions(target) })
        : netConnect(reads ? { ...base, onread: { buffer: reads.buffer, callback: reads.callback } } : base);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ProxyError('BACKEND_TIMEOUT', 'backend connect timed out', { ...ctx, ms: opts.connectTimeoutMs }));
      }, opts.connectTimeoutMs);
      s.once(implicit ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', ignoreSocketError); // later errors surface through the reader
        resolve(s);
      });
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(new ProxyError('BACKEND_CONNECT', `backend connect failed: ${e.message}`, ctx));
      };
      s.once('error', onError);
    });
    socket.setNoDelay(true);
    return new BackendConnection(
      socket,
      target,
      { maxLineLength: opts.maxLineLength ?? 65536, idleTimeoutMs: opts.idleTimeoutMs },
      reads,
    );
  }

  /** The login phase's line reader. */
  get reader(): LineReader {
    if (!this.rd) throw new ProxyError('DETACHED', 'backend connection handed over to its proxied session', {});
    return this.rd;
  }

  /** For the logged-in session: detach the reader and let it go; returns the bytes it had read ahead. */
  handOff(): Buffer {
    const rest = this.reader.detach();
    this.rd = undefined;
    return rest;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Upgrade after the protocol's STARTTLS/STLS exchange. */
  async startTls(): Promise<void> {
    if (this.reads)
      throw new ProxyError('TLS', 'backend connection was opened without TLS', { backend: this.target.ip });
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
    secure.on('error', ignoreSocketError);
    this.socket = secure;
    this.rd = new LineReader(secure, {
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
