import { readFileSync, statSync } from 'node:fs';
import type { DirectorAdminApi } from '@usher/admin';
import { type AdminGrpcServer, parseTokenFile, startAdminGrpcServer } from '@usher/admin/grpc';
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
  try {
    return await startAdminGrpcServer({
      address: listen,
      api: opts.api,
      ...(tls ? { tls } : {}),
      ...(token === undefined ? {} : { token }),
      log: opts.log,
    });
  } catch (e) {
    throw new ConfigError(`admin_grpc_listen: ${(e as Error).message}`, { setting: 'admin_grpc_listen' });
  }
}
