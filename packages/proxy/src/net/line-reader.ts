import type { Duplex } from 'node:stream';
import { ProxyError } from '../errors.js';

/**
 * Pull-style reader over a socket for the pre-auth phase: `await readLine()` / `await readBytes(n)`.
 * Protocol state machines read like the RFCs this way. Input is bounded (line length, idle time),
 * and `detach()` hands back whatever was read ahead so splicing or STARTTLS loses no byte.
 */
export class LineReader {
  private readonly stream: Duplex;
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private detached = false;
  maxLineLength: number;
  idleTimeoutMs: number;

  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    // a peer that streams without a newline must not grow our memory without bound
    if (this.buf.length > this.maxLineLength * 2 + 65536) this.stream.pause();
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };
  private readonly onError = (e: Error) => {
    this.failure = e;
    this.wake();
  };

  /**
   * `external`: the stream's bytes do not come as 'data' events (a socket reading into a buffer of
   * its own, see BackendConnection); its owner hands them over through `feed` instead.
   */
  constructor(stream: Duplex, opts: { maxLineLength: number; idleTimeoutMs: number; external?: boolean }) {
    this.stream = stream;
    this.maxLineLength = opts.maxLineLength;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    if (!opts.external) stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /** Bytes of the stream, for a reader constructed `external`; the reader keeps the buffer. */
  feed(chunk: Buffer): void {
    this.onData(chunk);
  }

  /** Bytes read ahead and not consumed yet. */
  get buffered(): number {
    return this.buf.length;
  }

  /** One line without its CRLF (a bare LF is accepted). */
  async readLine(): Promise<Buffer> {
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0) {
        if (nl > this.maxLineLength)
          throw new ProxyError('LINE_TOO_LONG', 'line too long', { limit: this.maxLineLength });
        const end = nl > 0 && this.buf[nl - 1] === 0x0d ? nl - 1 : nl;
        const line = this.buf.subarray(0, end);
        this.consume(nl + 1);
        return line;
      }
      if (this.buf.length > this.maxLineLength) {
        throw new ProxyError('LINE_TOO_LONG', 'line too long', { limit: this.maxLineLength });
      }
      await this.more();
    }
  }

  /** Exactly n bytes (IMAP literals, LMTP data chunks). */
  async readBytes(n: number): Promise<Buffer> {
    while (this.buf.length < n) await this.more();
    const out = this.buf.subarray(0, n);
    this.consume(n);
    return out;
  }

  /** Whatever is buffered now, or the next chunk (for streaming bodies). */
  async readSome(max: number): Promise<Buffer> {
    if (this.buf.length === 0) await this.more();
    const n = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, n);
    this.consume(n);
    return out;
  }

  /**
   * Put bytes back in front of the buffer: a body reader that took a chunk reaching past its end
   * (commands pipelined after an LMTP DATA terminator) returns the surplus for the next readLine.
   */
  unread(data: Buffer): void {
    if (data.length === 0) return;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([data, this.buf]);
  }

  /** Stop reading; return the read-ahead bytes. The stream is left paused and owned by the caller. */
  detach(): Buffer {
    this.detached = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.pause();
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    this.wake();
    return rest;
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(n);
    if (this.stream.isPaused() && !this.detached && this.buf.length <= this.maxLineLength) this.stream.resume();
  }

  private more(): Promise<void> {
    if (this.failure) return Promise.reject(new ProxyError('STREAM_ERROR', this.failure.message, {}));
    if (this.ended) return Promise.reject(new ProxyError('DISCONNECTED', 'peer closed the connection', {}));
    if (this.detached) return Promise.reject(new ProxyError('DETACHED', 'reader detached', {}));
    if (this.stream.isPaused()) this.stream.resume();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ProxyError('IDLE_TIMEOUT', 'idle timeout', { ms: this.idleTimeoutMs }));
      }, this.idleTimeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
    });
  }

  private wake(): void {
    this.waiter?.();
  }
}
