import * as grpc from '@grpc/grpc-js';
import type { RingMessage } from '../messages.js';
import type { RingLink } from '../transport.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { CLOSE_REASON_TRAILER } from './identity.js';

/** Structured log sink; the server's logger (ProxyLogger) fits it as is. */
export interface GrpcLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LinkSettings {
  readonly peer: string;
  readonly maxFrameBytes: number;
  /** How long a closing link may take to flush what it queued before it is cut. */
  readonly closeGraceMs: number;
  readonly log: GrpcLogger;
  /** The transport's own hook, told at once; the ring's onClose handlers wait for pending frames. */
  readonly onClosed: (reason: string) => void;
}

type ClientCall = grpc.ClientDuplexStream<Buffer, Buffer>;
type ServerCall = grpc.ServerDuplexStream<Buffer, Buffer>;

/**
 * One Link RPC seen as a RingLink. Closing is graceful (what was queued is still delivered) but
 * bounded by closeGraceMs; `finished` settles when the RPC is over on this side, which is when the
 * transport may release the connection.
 */
export class GrpcLink implements RingLink {
  readonly finished: Promise<void>;
  #buffered = 0;
  #closed = false;
  /** Closed by this side: nothing more reaches the ring, not even frames already received. */
  #closedHere = false;
  #closeReason = '';
  #messageHandlers: ((message: RingMessage) => void)[] = [];
  #closeHandlers: ((reason: string) => void)[] = [];
  /** Frames that arrived before the ring registered a handler, so none is lost in between. */
  #early: RingMessage[] = [];
  #flushScheduled = false;
  #closeDeferred = false;
  #markFinished!: () => void;
  #graceTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly peer: string,
    readonly direction: 'inbound' | 'outbound',
    private readonly stream: ClientCall | ServerCall,
    private readonly settings: LinkSettings,
    private readonly endCall: (reason: string) => void,
    private readonly abortCall: () => void,
  ) {
    this.finished = new Promise((resolve) => {
      this.#markFinished = () => {
        clearTimeout(this.#graceTimer);
        resolve();
      };
    });
    stream.on('data', (bytes: Buffer) => this.#receive(bytes));
  }

  static outbound(call: ClientCall, settings: LinkSettings): GrpcLink {
    const link = new GrpcLink(
      settings.peer,
      'outbound',
      call,
      settings,
      () => call.end(),
      () => call.cancel(),
    );
    // The status is the one event that always ends a client call; 'error' only duplicates it.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) {
        const why = status.metadata.get(CLOSE_REASON_TRAILER)[0];
        link.#closedBy(why === undefined ? 'peer closed the link' : `peer closed the link: ${String(why)}`);
      } else {
        link.#closedBy(`link failed: ${grpc.status[status.code]} ${status.details}`);
      }
      link.#markFinished();
    });
    return link;
  }

  static inbound(call: ServerCall, settings: LinkSettings): GrpcLink {
    const link = new GrpcLink(
      settings.peer,
      'inbound',
      call,
      settings,
      (reason) => {
        const trailers = new grpc.Metadata();
        trailers.set(CLOSE_REASON_TRAILER, reason);
        call.end(trailers);
      },
      () => call.destroy(),
    );
    // A client half-close is how the peer closes gracefully: answer by ending our side too. grpc-js
    // also reports 'end' when the connection dies, with 'cancelled' a few ticks later; waiting one
    // turn of the loop lets a dead connection be logged as such rather than as a goodbye.
    call.on('end', () => setImmediate(() => link.close('peer closed the link')));
    call.on('error', (err: Error) => link.#closedBy(`link failed: ${err.message}`));
    // grpc-js also reports 'cancelled' after a normal finish; only while open does it mean the peer is gone.
    call.on('cancelled', () => {
      link.#closedBy('link cancelled: peer gone or connection lost');
      link.#markFinished();
    });
    call.on('close', () => link.#markFinished());
    return link;
  }

  get buffered(): number {
    return this.#buffered;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: RingMessage): boolean {
    if (this.#closed) return false;
    // Invalid values throw here: a sender bug must surface, not turn into a reconnect loop.
    const bytes = encodeMessage(message);
    if (bytes.length > this.settings.maxFrameBytes) {
      // gRPC would fail the whole call over it anyway; say why instead.
      this.settings.log.error('ring frame too large', { peer: this.peer, kind: message.kind, bytes: bytes.length });
      this.close(`${message.kind} frame of ${bytes.length} bytes exceeds ${this.settings.maxFrameBytes}`);
      return false;
    }
    this.#buffered += bytes.length;
    // The stream queues past its high-water mark; `buffered` is how the ring sees that queue.
    this.stream.write(bytes, () => {
      if (!this.#closed) this.#buffered -= bytes.length;
    });
    return true;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closedHere = true;
    this.#closedBy(reason);
    this.endCall(reason);
    this.#graceTimer = setTimeout(() => {
      this.settings.log.debug('ring link cut after close grace', { peer: this.peer, reason });
      this.abortCall();
      this.#markFinished();
    }, this.settings.closeGraceMs);
    this.#graceTimer.unref();
  }

  onMessage(handler: (message: RingMessage) => void): void {
    this.#messageHandlers.push(handler);
    if (this.#early.length > 0 || this.#closeDeferred) this.#scheduleFlush();
  }

  onClose(handler: (reason: string) => void): void {
    this.#closeHandlers.push(handler);
    // While deferred, the flush that delivers the pending frames calls it.
    if (this.#closed && !this.#closeDeferred) {
      queueMicrotask(() => this.#callCloseHandler(handler));
    }
  }

  #receive(bytes: Buffer): void {
    if (this.#closed) return;
    let message: RingMessage;
    try {
      message = decodeMessage(bytes);
    } catch (err) {
      this.settings.log.warn('ring frame refused', { peer: this.peer, error: (err as Error).message });
      this.close(`bad frame: ${(err as Error).message}`);
      return;
    }
    if (this.#messageHandlers.length === 0 || this.#early.length > 0) this.#early.push(message);
    else this.#deliver(message);
  }

  /** Deferred to a microtask so the ring finishes wiring its handlers before the first one runs. */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      while (this.#early.length > 0 && !this.#closedHere) this.#deliver(this.#early.shift() as RingMessage);
      this.#early = [];
      if (this.#closeDeferred) {
        this.#closeDeferred = false;
        this.#notifyClose();
      }
    });
  }

  #deliver(message: RingMessage): void {
    for (const handler of this.#messageHandlers) {
      try {
        handler(message);
      } catch (err) {
        // Throwing back into grpc-js would kill unrelated calls; the link is what we can give up.
        this.settings.log.error('ring message handler failed', {
          peer: this.peer,
          kind: message.kind,
          error: String(err),
        });
        this.close(`message handler failed on ${message.kind}`);
        return;
      }
    }
  }

  /** Marks the link closed and tells the ring, once, whichever side or failure got there first. */
  #closedBy(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#buffered = 0;
    this.settings.onClosed(reason);
    // Frames that arrived before the close still reach the ring, and before the close does; if the
    // ring has no message handler yet, both wait for it.
    if (this.#early.length > 0) {
      this.#closeDeferred = true;
      if (this.#messageHandlers.length > 0) this.#scheduleFlush();
    } else this.#notifyClose();
  }

  #notifyClose(): void {
    for (const handler of this.#closeHandlers) this.#callCloseHandler(handler);
  }

  #callCloseHandler(handler: (reason: string) => void): void {
    try {
      handler(this.#closeReason);
    } catch (err) {
      this.settings.log.error('ring close handler failed', { peer: this.peer, error: String(err) });
    }
  }
}
