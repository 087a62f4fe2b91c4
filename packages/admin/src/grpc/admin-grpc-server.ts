import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { UsherError } from '@usher/core';
import type { DirectorAdminApi } from '../director-admin/api.js';
import type { AdminLog } from '../director-admin/connection.js';
import { adminServiceDefinition } from './admin-proto.js';
import { adminServiceImplementation } from './admin-service.js';
import { AdminAuthenticator, type RefusalSink } from './auth.js';

export interface AdminGrpcServerOptions {
  /** "ip:port" or "[v6]:port"; port 0 picks a free one. */
  readonly address: string;
  readonly api: DirectorAdminApi;
  /** Server certificate and key (PEM); `clientCa` makes a client certificate signed by it mandatory. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  /** A bearer token every call must present. */
  readonly token?: string;
  /**
   * Instead of binding `address` itself, hand grpc-js connections accepted elsewhere: `accept` gets
   * the injector and returns where it listens. usherd uses it to put the ring's mTLS endpoint in
   * front, which logs every refused client certificate (grpc-js's own TLS refuses them silently).
   */
  readonly accept?: (inject: (socket: Duplex) => void) => Promise<{ address: string; close(): Promise<void> }>;
  readonly log: AdminLog;
  /** Where refused callers are reported; default: a warn line each. usherd passes a rate-limited log. */
  readonly refused?: RefusalSink;
}

export interface AdminGrpcServer {
  /** Where it listens, with the port it got. */
  readonly address: string;
  close(): Promise<void>;
}

/** The admin service could not start as configured. */
export class AdminGrpcConfigError extends UsherError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('ADMIN_GRPC_CONFIG', message, context);
  }
}

/**
 * Serves usher.v1.DirectorAdmin. A caller must prove itself with a client certificate, a token, or
 * both; a token travels in clear only on a loopback address, so without TLS nothing else is allowed.
 */
export async function startAdminGrpcServer(opts: AdminGrpcServerOptions): Promise<AdminGrpcServer> {
  const { address, tls, token, log } = opts;
  if (!tls?.clientCa && token === undefined) {
    throw new AdminGrpcConfigError('the admin gRPC service needs a client CA or a token', { address });
  }
  if (!tls && !isLoopback(address)) {
    throw new AdminGrpcConfigError('the admin gRPC service without TLS may only listen on a loopback address', {
      address,
    });
  }
  const server = new grpc.Server();
  server.addService(
    adminServiceDefinition(),
    adminServiceImplementation(
      opts.api,
      new AdminAuthenticator(
        token,
        opts.refused ?? ((from, reason) => log.warn('admin client refused', { from, reason })),
      ),
      log,
    ),
  );
  if (opts.accept) {
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const front = await opts.accept((socket) => injector.injectConnection(socket));
    log.info('admin gRPC listening', {
      address: front.address,
      tls: true,
      clientCertificates: true,
      token: token !== undefined,
    });
    return {
      address: front.address,
      close: async () => {
        server.forceShutdown();
        await front.close();
      },
    };
  }
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: tls.cert, private_key: tls.key }],
        tls.clientCa !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((e: Error) => {
    throw new AdminGrpcConfigError(`admin gRPC cannot listen on ${address}: ${e.message}`, { address });
  });
  const bound = address.replace(/:\d+$/, `:${port}`);
  log.info('admin gRPC listening', {
    address: bound,
    tls: tls !== undefined,
    clientCertificates: tls?.clientCa !== undefined,
    token: token !== undefined,
  });
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // calls in flight (a flush waiting for its moves) get a moment, then are cut
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function isLoopback(address: string): boolean {
  return /^(127\.|\[::1\]:|localhost:)/.test(address);
}
