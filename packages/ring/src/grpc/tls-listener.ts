import { isIP, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { describeCertificate, type NodeAddress } from './identity.js';

export interface RingTlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface RingTlsListenerOptions {
  readonly address: NodeAddress;
  readonly tls: RingTlsMaterial;
  /** A connection that has not completed its handshake by then is refused. */
  readonly handshakeTimeoutMs: number;
  /** A peer with a certificate from the ring CA that speaks HTTP/2: gRPC's from here on. */
  readonly onPeer: (socket: TLSSocket) => void;
  /** The connection is closed already. `from` is "ip:port". */
  readonly onRefused: (from: string, reason: string, fields: Record<string, unknown>) => void;
  /** How refusals name the CA in `tls` (default "the ring CA"). */
  readonly caName?: string;
  /** A connection closed before it sent a byte: a TCP probe or port scan, not a peer. */
  readonly onSilentClose: (from: string) => void;
}

interface Pending {
  readonly from: string;
  readonly raw: Socket;
  settled: boolean;
}

/**
 * OpenSSL's texts for the verification results a refused peer certificate gets (Node only gives
 * the code), with what each means for a ring peer.
 */
const verifyErrors = (ca: string): Record<string, string> => ({
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `unable to verify the first certificate (not issued by ${ca})`,
  UNABLE_TO_GET_ISSUER_CERT: `unable to get issuer certificate (not issued by ${ca})`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `unable to get local issuer certificate (not issued by ${ca})`,
  DEPTH_ZERO_SELF_SIGNED_CERT: `self-signed certificate (not issued by ${ca})`,
  SELF_SIGNED_CERT_IN_CHAIN: `self-signed certificate in certificate chain (not ${ca})`,
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_REVOKED: 'certificate revoked',
  INVALID_PURPOSE: 'unsupported certificate purpose (needs extendedKeyUsage clientAuth)',
});

/**
 * The ring's TLS endpoint, in front of grpc-js. grpc-js terminates TLS inside a private HTTP/2
 * server and refuses a bad client certificate without a word (Node's rejectUnauthorized destroys
 * the socket after the handshake, and grpc-js does not listen for 'tlsClientError'). Here the
 * handshake is ours: every refusal is reported with the peer's address and OpenSSL's reason, and
 * only a verified peer's socket is handed to grpc-js (a connection injector with plaintext
 * credentials; the socket is still the TLSSocket, so calls see the peer certificate as before).
 *
 * The certificate is verified as Node's `rejectUnauthorized` would (chain to the ring CA, dates,
 * purpose), but the verdict is read after the handshake instead of aborting it, which is what
 * gives the reason (expired, unknown issuer, none). The client sees the same either way: the
 * connection closes before any HTTP/2 byte.
 */
export class RingTlsListener {
  readonly #server: Server;
  readonly #options: RingTlsListenerOptions;
  readonly #verifyErrors: Record<string, string>;
  /** Connections by "ip:port", until they close; a TLSSocket is matched to its own by that key. */
  readonly #connections = new Map<string, Pending>();

  private constructor(options: RingTlsListenerOptions) {
    this.#options = options;
    this.#verifyErrors = verifyErrors(options.caName ?? 'the ring CA');
    this.#server = createServer({
      ca: options.tls.ca,
      cert: options.tls.cert,
      key: options.tls.key,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    this.#server.on('connection', (raw: Socket) => this.#connected(raw));
    this.#server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.#failed(err, socket));
    this.#server.on('secureConnection', (socket: TLSSocket) => this.#secured(socket));
  }

  static async listen(options: RingTlsListenerOptions): Promise<RingTlsListener> {
    const listener = new RingTlsListener(options);
    const server = listener.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.address.port, options.address.ip, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {}); // after listening only accept errors (EMFILE), which Node retries
    return listener;
  }

  /** Stops listening and cuts every connection still open (the transport closed its links first). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of this.#connections.values()) {
      c.settled = true;
      c.raw.destroy();
    }
    await closed;
  }

  #connected(raw: Socket): void {
    const from = formatAddress(raw.remoteAddress, raw.remotePort);
    const pending: Pending = { from, raw, settled: false };
    this.#connections.set(from, pending);
    raw.once('close', () => {
      if (this.#connections.get(from) === pending) this.#connections.delete(from);
      if (pending.settled) return;
      pending.settled = true;
      // A socket that closes during the handshake reports its error without an address (it is
      // gone by then); this is where such a connection is accounted for.
      if (raw.bytesRead === 0) this.#options.onSilentClose(from);
      else
        this.#options.onRefused(
          from,
          'tls handshake failed: peer closed the connection during the handshake (does it refuse our certificate?)',
          {},
        );
    });
  }

  /** The connection this TLS socket runs on, marked as dealt with; undefined if it is closed already. */
  #settle(socket: TLSSocket): Pending | undefined {
    if (socket.remoteAddress === undefined) return undefined;
    const pending = this.#connections.get(formatAddress(socket.remoteAddress, socket.remotePort));
    if (!pending || pending.settled) return undefined;
    pending.settled = true;
    return pending;
  }

  #failed(err: Error, socket: TLSSocket): void {
    const pending = this.#settle(socket); // first: a destroyed socket has no address any more
    // Node leaves a socket whose handshake failed open (a timeout, for one): ours to close.
    socket.destroy();
    if (!pending) return;
    const e = err as Error & { reason?: string; code?: string };
    const why = e.reason ?? (e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? undefined : e.message.split('\n')[0]);
    const reason =
      why === undefined
        ? `tls handshake failed: no handshake within ${this.#options.handshakeTimeoutMs} ms`
        : `tls handshake failed: ${why}`;
    this.#options.onRefused(pending.from, reason, e.code ? { code: e.code } : {});
  }

  #secured(socket: TLSSocket): void {
    // A late error on a socket nobody reads from any more must not crash the process.
    socket.on('error', () => {});
    const pending = this.#settle(socket);
    const from = pending?.from ?? formatAddress(socket.remoteAddress, socket.remotePort);
    const refusal = vetPeer(socket, this.#verifyErrors);
    if (refusal) {
      socket.destroy();
      this.#options.onRefused(from, refusal.reason, refusal.fields);
      return;
    }
    this.#options.onPeer(socket);
  }
}

function vetPeer(
  socket: TLSSocket,
  verifyErrors: Record<string, string>,
): { reason: string; fields: Record<string, unknown> } | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert?.raw) return { reason: 'tls handshake failed: no client certificate', fields: {} };
  if (!socket.authorized) {
    // Typed as an Error, but Node sets the OpenSSL verify code (a string).
    const code = String(socket.authorizationError ?? 'UNKNOWN');
    return {
      reason: `tls handshake failed: ${verifyErrors[code] ?? code.toLowerCase().replaceAll('_', ' ')}`,
      fields: { code, certificate: describeCertificate(cert) },
    };
  }
  if (socket.alpnProtocol !== 'h2') {
    return { reason: 'tls handshake failed: peer does not speak HTTP/2 (ALPN h2)', fields: {} };
  }
  return undefined;
}

function formatAddress(ip: string | undefined, port: number | undefined): string {
  const host = ip ?? 'unknown';
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port ?? 0}`;
}
