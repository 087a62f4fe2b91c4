import * as grpc from '@grpc/grpc-js';
import type { RingLink, Transport } from '../transport.js';
import { ringServiceDefinition } from './frames.js';
import {
  certificateNamesIp,
  describeCertificate,
  grpcTarget,
  NODE_HEADER,
  type NodeAddress,
  parseNodeId,
} from './identity.js';
import { GrpcLink, type GrpcLogger, type LinkSettings } from './link.js';
import { type RefusalLimits, RefusalLog } from './refusal-log.js';
import { RingTlsListener } from './tls-listener.js';

export interface RingTls {
  /** The cluster CA: the only issuer whose node certificates are accepted, both ways. */
  readonly ca: Buffer;
  /** This node's certificate (PEM), naming its IP in subjectAltName. */
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface GrpcTransportOptions {
  /** This node's id, "ip:port"; also what peers dial and what its certificate must name. */
  readonly self: string;
  /** Bind address, "ip:port", when it differs from self (e.g. "0.0.0.0:port" behind NAT). */
  readonly listenAddress?: string;
  /** 'insecure' only when the operator configured it: identity is then merely claimed. */
  readonly tls: RingTls | 'insecure';
  /** Current member ids; only these may open a link to us. */
  readonly members: () => readonly string[];
  readonly connectTimeoutMs?: number;
  /** HTTP/2 ping interval; a peer that misses one for keepaliveTimeoutMs is dead. */
  readonly keepaliveMs?: number;
  readonly keepaliveTimeoutMs?: number;
  /** How long a closing link may flush before it is cut. */
  readonly closeGraceMs?: number;
  /** Largest encoded frame, both ways; the ring chunks state well below it. */
  readonly maxFrameBytes?: number;
  /** An inbound connection must finish its TLS handshake within this (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** How many `ring peer refused` lines one source may cause (default 5 a minute). */
  readonly refusalLogLimits?: Partial<RefusalLimits>;
  readonly log?: GrpcLogger;
}

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

const silent: GrpcLogger = { debug() {}, info() {}, warn() {}, error() {} };
const identity = (b: Buffer): Buffer => b;
const SNI_NAME = 'usher-ring.invalid';

interface Refusal {
  readonly code: grpc.status;
  readonly reason: string;
}

/**
 * Ring links over one bidirectional gRPC stream each, with mutual TLS. An inbound peer is accepted
 * only as the member its certificate names; an outbound one only if the server's certificate names
 * the IP we dialled. Every link has its own HTTP/2 connection, so closing a link releases it and a
 * dead peer is detected by that connection's keepalive.
 */
export class GrpcTransport implements Transport {
  readonly self: string;
  readonly #options: GrpcTransportOptions;
  readonly #log: GrpcLogger;
  readonly #maxFrameBytes: number;
  readonly #keepalive: { readonly 'grpc.keepalive_time_ms': number; readonly 'grpc.keepalive_timeout_ms': number };
  readonly #links = new Set<GrpcLink>();
  readonly #refusals: RefusalLog;
  #server: grpc.Server | undefined;
  #tlsListener: RingTlsListener | undefined;
  #closed = false;

  constructor(options: GrpcTransportOptions) {
    parseNodeId(options.self);
    this.self = options.self;
    this.#options = options;
    this.#log = options.log ?? silent;
    this.#refusals = new RefusalLog(this.#log, options.refusalLogLimits);
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#keepalive = {
      'grpc.keepalive_time_ms': options.keepaliveMs ?? 4000,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 4000,
    };
    if (options.tls === 'insecure') {
      this.#log.warn('ring transport is insecure: peers are identified only by the id they claim', { self: this.self });
    }
  }

  /** Links currently open or closing, for `ring status`. */
  get links(): readonly RingLink[] {
    return [...this.#links];
  }

  async listen(onLink: (link: RingLink) => void): Promise<void> {
    if (this.#server) throw new Error('GrpcTransport.listen called twice');
    const server = new grpc.Server({
      ...this.#keepalive,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': this.#maxFrameBytes,
      'grpc.max_send_message_length': this.#maxFrameBytes,
    });
    server.addService(ringServiceDefinition(), {
      Link: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.#accept(call, onLink),
    });
    const tls = this.#options.tls;
    const address = this.#options.listenAddress ?? this.self;
    if (tls === 'insecure') {
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      );
    } else {
      // TLS is terminated by our own listener, which logs every refused handshake (grpc-js's own TLS
      // server refuses them silently), and grpc-js gets the verified sockets through an injector.
      const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      this.#tlsListener = await RingTlsListener.listen({
        address: parseNodeId(address),
        tls,
        handshakeTimeoutMs: this.#options.handshakeTimeoutMs ?? 10_000,
        onPeer: (socket) => injector.injectConnection(socket),
        onRefused: (from, reason, fields) => this.#refusals.refused(from, reason, fields),
        onSilentClose: (from) => this.#log.debug('ring connection closed before its tls handshake', { from }),
      });
    }
    this.#server = server;
    this.#log.info('ring transport listening', { address, tls: tls !== 'insecure' });
  }

  async connect(peer: string): Promise<RingLink> {
    if (this.#closed) throw new Error('ring transport is closed');
    const address = parseNodeId(peer);
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    const client = new grpc.Client(grpcTarget(address), this.#channelCredentials(address), {
      ...this.#keepalive,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': this.#maxFrameBytes,
      'grpc.max_send_message_length': this.#maxFrameBytes,
      // A connection per link: a shared subchannel would outlive the link and blur which peer died.
      'grpc.use_local_subchannel_pool': 1,
      // A retried Link would be a link the ring never asked for, and retry buffering holds frames back.
      'grpc.enable_retries': 0,
      // We dial IPs, and an IP as TLS server name is against RFC 6066 (Node warns, DEP0123). The server
      // ignores SNI; checkServerIdentity below verifies the certificate against the dialled IP regardless.
      ...(this.#options.tls === 'insecure' ? {} : { 'grpc.ssl_target_name_override': SNI_NAME }),
    });
    const metadata = new grpc.Metadata();
    metadata.set(NODE_HEADER, this.self);
    const path = ringServiceDefinition().Link?.path ?? '/usher.v1.Ring/Link';
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(path, identity, identity, metadata);
    call.on('error', () => {}); // the status says the same; an unheard 'error' would crash the process

    return new Promise<RingLink>((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.removeListener('status', onStatus);
        call.cancel();
        client.close();
        this.#log.debug('ring link not opened', { peer, reason: why });
        reject(new Error(`ring link to ${peer} failed: ${why}`));
      };
      const onStatus = (status: grpc.StatusObject): void => fail(`${grpc.status[status.code]} ${status.details}`);
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      call.once('status', onStatus);
      call.once('metadata', (answer: grpc.Metadata) => {
        if (settled) return;
        const answeredAs = answer.get(NODE_HEADER)[0];
        // No header: a refusal's trailers-only response; its status follows with the reason.
        if (answeredAs === undefined) return;
        if (answeredAs !== peer) {
          fail(`answered as ${String(answeredAs)}`);
          return;
        }
        if (this.#closed) {
          fail('ring transport is closed');
          return;
        }
        settled = true;
        clearTimeout(timer);
        call.removeListener('status', onStatus);
        const link = GrpcLink.outbound(call, this.#linkSettings(peer, 'outbound'));
        this.#track(link);
        void link.finished.then(() => client.close());
        resolve(link);
      });
      if (this.#closed) fail('ring transport is closed');
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const links = [...this.#links];
    for (const link of links) link.close('transport closed');
    // Each link cuts itself after closeGraceMs, so this wait is bounded.
    await Promise.all(links.map((link) => link.finished));
    this.#server?.forceShutdown();
    await this.#tlsListener?.close();
  }

  #accept(call: grpc.ServerDuplexStream<Buffer, Buffer>, onLink: (link: RingLink) => void): void {
    const claimed = call.metadata.get(NODE_HEADER)[0];
    const refusal = this.#vet(claimed, call);
    if (refusal) {
      this.#refusals.refused(call.getPeer(), refusal.reason, { claimed });
      call.emit('error', { code: refusal.code, details: `ring peer refused: ${refusal.reason}` });
      return;
    }
    const peer = claimed as string;
    const answer = new grpc.Metadata();
    answer.set(NODE_HEADER, this.self);
    call.sendMetadata(answer);
    const link = GrpcLink.inbound(call, this.#linkSettings(peer, 'inbound'));
    this.#track(link);
    try {
      onLink(link);
    } catch (err) {
      // Escaping into grpc-js would end the call as UNKNOWN behind the link's back.
      this.#log.error('ring link handler failed', { peer, error: String(err) });
      link.close('link handler failed');
    }
  }

  /** Authentication (who is it?) before authorisation (may it join?), so the log names the real failure. */
  #vet(claimed: unknown, call: grpc.ServerDuplexStream<Buffer, Buffer>): Refusal | undefined {
    if (this.#closed) return { code: grpc.status.UNAVAILABLE, reason: 'transport is closing' };
    if (typeof claimed !== 'string') return { code: grpc.status.UNAUTHENTICATED, reason: `no ${NODE_HEADER} metadata` };
    let address: NodeAddress;
    try {
      address = parseNodeId(claimed);
    } catch (err) {
      return { code: grpc.status.UNAUTHENTICATED, reason: (err as Error).message };
    }
    if (this.#options.tls !== 'insecure') {
      const cert = call.getAuthContext()?.sslPeerCertificate;
      if (!cert) return { code: grpc.status.UNAUTHENTICATED, reason: 'no verified client certificate' };
      if (!certificateNamesIp(cert, address.ip)) {
        return {
          code: grpc.status.UNAUTHENTICATED,
          reason: `claims ${claimed} but its certificate (${describeCertificate(cert)}) does not name ${address.ip}`,
        };
      }
    }
    if (!this.#options.members().includes(claimed)) {
      return { code: grpc.status.PERMISSION_DENIED, reason: `${claimed} is not a ring member` };
    }
    return undefined;
  }

  #channelCredentials(address: NodeAddress): grpc.ChannelCredentials {
    const tls = this.#options.tls;
    if (tls === 'insecure') return grpc.credentials.createInsecure();
    return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, {
      // Called with SNI_NAME as host, so the IP comes from the closure. Same rule the server applies
      // to us, including the CN spelling Node's own check would not accept for an IP.
      checkServerIdentity: (_host, cert) =>
        certificateNamesIp(cert, address.ip)
          ? undefined
          : new Error(`server certificate (${describeCertificate(cert)}) does not name ${address.ip}`),
    });
  }

  #linkSettings(peer: string, direction: 'inbound' | 'outbound'): LinkSettings {
    return {
      peer,
      maxFrameBytes: this.#maxFrameBytes,
      closeGraceMs: this.#options.closeGraceMs ?? 2000,
      log: this.#log,
      onClosed: (reason) => this.#log.info('ring link closed', { peer, direction, reason }),
    };
  }

  #track(link: GrpcLink): void {
    this.#links.add(link);
    this.#log.info('ring link open', { peer: link.peer, direction: link.direction });
    void link.finished.then(() => this.#links.delete(link));
  }
}
