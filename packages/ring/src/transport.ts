import type { RingMessage } from './messages.js';

/**
 * The narrow seam between ring logic and the network (memberlist's Transport). The ring never
 * touches sockets: tests drive it over an in-memory network with faults; production over gRPC
 * with mTLS. A link is an ordered, reliable message stream to one authenticated peer until it closes.
 */
export interface RingLink {
  /** The authenticated peer id ("ip:port"); for inbound links, as proven by the transport (mTLS). */
  readonly peer: string;
  readonly direction: 'inbound' | 'outbound';
  /** Queue a message. Returns false once the link is closed (the message is dropped). */
  send(message: RingMessage): boolean;
  /** Bytes queued and not yet written (for backpressure and `ring status`). */
  readonly buffered: number;
  close(reason: string): void;
  onMessage(handler: (message: RingMessage) => void): void;
  /** Called once, when either side closes or the link fails. */
  onClose(handler: (reason: string) => void): void;
}

export interface Transport {
  /** This node's id ("ip:port"). */
  readonly self: string;
  /** Start accepting inbound links; peers the transport cannot authenticate never reach `onLink`. */
  listen(onLink: (link: RingLink) => void): Promise<void>;
  /** Open a link to a peer; rejects when it cannot be reached within the transport's timeout. */
  connect(peer: string): Promise<RingLink>;
  close(): Promise<void>;
}
