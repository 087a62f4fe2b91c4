import { readFileSync, statSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { DirectorAdminApi } from '@usher/admin';
import { type AdminGrpcServer, parseTokenFile, startAdminGrpcServer } from '@usher/admin/grpc';
import { RefusalLog, RingTlsListener } from '@usher/ring/grpc';
import { ConfigError, type UsherConfig } from '../config/load-config.js';
import type { UsherLogger } from '../log/logger.js';

/**
 * Serve the gRPC admin API (admin_grpc_*) when admin_grpc_listen is set. Settings that do not
 * make a safe service (no way to authenticate, a token in clear off loopback, a half TLS pair)
 * stop the node with the setting named.
 */
export async function startAdminGrpc(opts: {
  config: UsherConfig;
  api: DirectorAdminApi;
  log: UsherLogger;
}): Promise<AdminGrpcServer | undefined> {
  const { listen, sslCert, sslKey, sslClientCa, tokenFile } = opts.config.adminGrpc;
  if (listen === '') return undefined;
  if ((sslCert === '') !== (sslKey === '')) {
    throw new ConfigError('admin_grpc_ssl_cert and admin_grpc_ssl_key go together', { setting: 'admin_grpc_ssl_cert' });
  }
  if (sslClientCa !== '' && sslCert === '') {
    throw new ConfigError('admin_grpc_ssl_client_ca needs admin_grpc_ssl_cert and admin_grpc_ssl_key', {
      setting: 'admin_grpc_ssl_client_ca',
    });
  }
  if (sslClientCa === '' && tokenFile === '') {
    throw new ConfigError('admin_grpc_listen needs admin_grpc_ssl_client_ca or admin_grpc_token_file', {
      setting: 'admin_grpc_listen',
    });
  }
  const read = (path: string, setting: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${setting}: cannot read ${path}: ${(e as Error).message}`, { setting });
    }
  };
  let token: string | undefined;
  if (tokenFile !== '') {
    try {
      token = parseTokenFile(read(tokenFile, 'admin_grpc_token_file').toString('utf8'), tokenFile);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`admin_grpc_token_file: ${(e as Error).message}`, { setting: 'admin_grpc_token_file' });
    }
    // a token others can read is no secret
    if ((statSync(tokenFile).mode & 0o077) !== 0) {
      opts.log.warn('admin_grpc_token_file is readable by others than its owner; chmod 0600 it', { path: tokenFile });
    }
  }
  const tls =
    sslCert === ''
      ? undefined
      : {
          cert: read(sslCert, 'admin_grpc_ssl_cert'),
          key: read(sslKey, 'admin_grpc_ssl_key'),
          ...(sslClientCa === '' ? {} : { clientCa: read(sslClientCa, 'admin_grpc_ssl_client_ca') }),
        };
  // one rate-limited log for every refusal, whether of the certificate or of the token
  const refusals = new RefusalLog(opts.log, {}, Date.now, 'admin client refused');
  try {
    return await startAdminGrpcServer({
      address: listen,
      api: opts.api,
      ...(tls ? { tls } : {}),
      ...(token === undefined ? {} : { token }),
      ...(tls?.clientCa ? { accept: mutualTlsFront(listen, { ...tls, ca: tls.clientCa }, refusals, opts.log) } : {}),
      refused: (from, reason) => refusals.refused(from, reason),
      log: opts.log,
    });
  } catch (e) {
    throw new ConfigError(`admin_grpc_listen: ${(e as Error).message}`, { setting: 'admin_grpc_listen' });
  }
}

/**
 * With client certificates, the admin API takes its connections from the ring's mTLS endpoint, so
 * a caller with no certificate, an expired one or one of another CA is refused and logged
 * ("admin client refused", rate-limited per source) instead of dropped silently by grpc-js.
 */
function mutualTlsFront(
  listen: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
  refusals: RefusalLog,
  log: UsherLogger,
) {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m)
    throw new ConfigError(`admin_grpc_listen must be "address:port": ${listen}`, { setting: 'admin_grpc_listen' });
  const address = { ip: (m[1] ?? m[2]) as string, port: Number(m[3]) };
  return async (inject: (socket: Duplex) => void) => {
    const front = await RingTlsListener.listen({
      address,
      tls,
      caName: 'admin_grpc_ssl_client_ca',
      handshakeTimeoutMs: 10_000,
      onPeer: inject,
      onRefused: (from, reason, fields) => refusals.refused(from, reason, fields),
      onSilentClose: (from) => log.debug('admin connection closed before its tls handshake', { from }),
    });
    return { address: listen, close: () => front.close() };
  };
}
