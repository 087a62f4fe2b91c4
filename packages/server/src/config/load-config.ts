import { readFileSync } from 'node:fs';
import { UsherError } from '@usher/core';
import { DEFAULT_SIEVE_CAPABILITY } from '@usher/proxy';
import convict from 'convict';
import { type HealthSettings, readHealthSettings } from '../health/health-settings.js';
import { parseDovecotSize, parseDovecotTime } from './dovecot-time.js';
import { type ErrorOrigin, lineOfOffset, locateValidationErrors, whereIs } from './locate.js';
import { schema } from './schema.js';

export type Protocol = 'imap' | 'pop3' | 'lmtp' | 'managesieve';

export interface ListenerConfig {
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
  /** Implicit TLS. */
  readonly ssl: boolean;
  readonly haproxy: boolean;
  readonly tag: string;
}

/** Settings after validation, in the units the code uses (milliseconds, bytes). */
export interface UsherConfig {
  readonly nodeName: string;
  readonly directorServers: string;
  readonly directorMailServers: string;
  readonly ring: {
    readonly address: string;
    readonly port: number;
    readonly sslCa: string;
    readonly sslCert: string;
    readonly sslKey: string;
    readonly insecure: boolean;
    readonly pingIntervalMs: number;
    readonly pingTimeoutMs: number;
    readonly syncTimeoutMs: number;
    readonly userKickDelayMs: number;
    readonly maxParallelMoves: number;
    readonly maxParallelKicks: number;
  };
  /** The director-admin protocol: UNIX socket ("" = off) with its mode, TCP ("" = off). */
  readonly directorAdmin: { readonly socket: string; readonly socketMode: number; readonly tcp: string };
  /** The gRPC admin API: listen "" = off; PEM paths and the token file path, "" = not set. */
  readonly adminGrpc: {
    readonly listen: string;
    readonly sslCert: string;
    readonly sslKey: string;
    readonly sslClientCa: string;
    readonly tokenFile: string;
  };
  readonly userExpireSecs: number;
  readonly usernameHash: string;
  readonly masterSeparator: string;
  readonly loginTrustedNetworks: string;
  readonly haproxyTrustedNetworks: string;
  readonly haproxyTimeoutMs: number;
  readonly sslCert: string;
  readonly sslKey: string;
  readonly listeners: readonly ListenerConfig[];
  readonly backend: {
    readonly ports: { imap: number; pop3: number; lmtp: number; managesieve: number };
    readonly ssl: 'no' | 'yes' | 'starttls';
    readonly sslCa: string;
    readonly sslVerify: boolean;
  };
  readonly proxyTtl: number;
  readonly limits: {
    readonly backendConnectTimeoutMs: number;
    readonly authFailureDelayMs: number;
    readonly maxAuthAttempts: number;
    readonly maxLineLength: number;
    readonly maxPreAuthLiteral: number;
    readonly preAuthIdleTimeoutMs: number;
    readonly maxBadCommands: number;
    readonly maxConnectionsPerIp: number;
    readonly lmtpBackendTimeoutMs: number;
    readonly lmtpMaxMessageSize: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly sieveCapability: { readonly sieve: string; readonly notify: string };
  readonly logFormat: 'text' | 'json';
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** metrics_listen: "ip:port" of /metrics, /healthz, /readyz; "" = off. */
  readonly metricsListen: string;
  readonly health: HealthSettings;
}

export class ConfigError extends UsherError {
  constructor(message: string, context: { file?: string; setting?: string } = {}) {
    super('CONFIG', message, context);
  }
}

/** Load a JSON config file (optional), then environment, then `overrides` (flags), and validate strictly. */
export function loadConfig(opts: { file?: string; overrides?: Record<string, unknown> } = {}): UsherConfig {
  const c = convict(schema);
  // kept to point errors at the line of the offending setting
  let text: string | undefined;
  if (opts.file) {
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read ${opts.file}: ${(e as Error).message}`, { file: opts.file });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      const at = /at position (\d+)/.exec((e as Error).message);
      const where = at ? `${opts.file}:${lineOfOffset(text, Number(at[1]))}` : opts.file;
      throw new ConfigError(`${where}: invalid JSON: ${(e as Error).message}`, { file: opts.file });
    }
    c.load(data as Record<string, unknown>);
  }
  // set(), not load(): convict re-applies the environment after every load(), so a loaded --set
  // would lose against an USHER_* variable; the command line must win over everything
  for (const [key, value] of flatten(opts.overrides ?? {})) c.set(key as never, value as never);
  const origin: ErrorOrigin = {
    ...(opts.file ? { file: opts.file } : {}),
    ...(text === undefined ? {} : { text }),
    ...(opts.overrides ? { overrides: opts.overrides } : {}),
  };
  try {
    c.validate({ allowed: 'strict' });
  } catch (e) {
    throw new ConfigError(locateValidationErrors((e as Error).message, origin), opts.file ? { file: opts.file } : {});
  }
  const ms = (key: string) => parseDovecotTime(c.get(key as never) as string) as number;
  const bytes = (key: string) => parseDovecotSize(c.get(key as never) as string) as number;
  const userExpireSecs = Math.floor(ms('director_user_expire') / 1000);
  if (userExpireSecs < 10) {
    const where = whereIs('director_user_expire', origin);
    throw new ConfigError(`${where ? `${where}: ` : ''}director_user_expire is too low (minimum 10 s)`, {
      setting: 'director_user_expire',
    });
  }
  // a zero timeout would fail every probe and take every backend down
  for (const key of ['health_check_interval', 'health_check_timeout']) {
    if (ms(key) > 0) continue;
    const where = whereIs(key, origin);
    throw new ConfigError(`${where ? `${where}: ` : ''}${key} must be above 0`, { setting: key });
  }
  const get = <T>(key: string): T => c.get(key as never) as T;
  return {
    nodeName: get('node_name'),
    directorServers: get('director_servers'),
    directorMailServers: get('director_mail_servers'),
    ring: {
      address: get('director_ring_address'),
      port: get('director_ring_port'),
      sslCa: stripLt(get('director_ring_ssl_ca')),
      sslCert: stripLt(get('director_ring_ssl_cert')),
      sslKey: stripLt(get('director_ring_ssl_key')),
      insecure: get('director_ring_insecure'),
      pingIntervalMs: ms('director_ring_ping_interval'),
      pingTimeoutMs: ms('director_ring_ping_timeout'),
      syncTimeoutMs: ms('director_ring_sync_timeout'),
      userKickDelayMs: ms('director_user_kick_delay'),
      maxParallelMoves: get('director_max_parallel_moves'),
      maxParallelKicks: get('director_max_parallel_kicks'),
    },
    directorAdmin: {
      socket: get('director_admin_socket'),
      socketMode: Number.parseInt(get<string>('director_admin_socket_mode'), 8),
      tcp: get('director_admin_tcp'),
    },
    adminGrpc: {
      listen: get('admin_grpc_listen'),
      sslCert: stripLt(get('admin_grpc_ssl_cert')),
      sslKey: stripLt(get('admin_grpc_ssl_key')),
      sslClientCa: stripLt(get('admin_grpc_ssl_client_ca')),
      tokenFile: get('admin_grpc_token_file'),
    },
    userExpireSecs,
    usernameHash: get('director_username_hash'),
    masterSeparator: get('auth_master_user_separator'),
    loginTrustedNetworks: get('login_trusted_networks'),
    haproxyTrustedNetworks: get('haproxy_trusted_networks'),
    haproxyTimeoutMs: ms('haproxy_timeout'),
    sslCert: stripLt(get('ssl_cert')),
    sslKey: stripLt(get('ssl_key')),
    listeners: get<Array<Record<string, unknown>>>('listeners').map((l) => ({
      protocol: l.protocol as Protocol,
      address: l.address as string,
      port: l.port as number,
      ssl: l.ssl === true,
      haproxy: l.haproxy === true,
      tag: typeof l.tag === 'string' ? l.tag : '',
    })),
    backend: {
      ports: {
        imap: get('backend.imap_port'),
        pop3: get('backend.pop3_port'),
        lmtp: get('backend.lmtp_port'),
        managesieve: get('backend.managesieve_port'),
      },
      ssl: get('backend.ssl'),
      sslCa: stripLt(get('backend.ssl_ca')),
      sslVerify: get('backend.ssl_verify'),
    },
    proxyTtl: get('login_proxy_ttl'),
    limits: {
      backendConnectTimeoutMs: ms('login_proxy_timeout'),
      authFailureDelayMs: ms('auth_failure_delay'),
      maxAuthAttempts: get('login_max_auth_attempts'),
      maxLineLength: bytes('login_max_line_length'),
      maxPreAuthLiteral: bytes('login_max_literal_size'),
      preAuthIdleTimeoutMs: ms('login_client_timeout'),
      maxBadCommands: get('login_max_bad_commands'),
      maxConnectionsPerIp: get('login_max_connections_per_ip'),
      lmtpBackendTimeoutMs: ms('lmtp_proxy_timeout'),
      lmtpMaxMessageSize: bytes('lmtp_max_message_size'),
    },
    shutdownTimeoutMs: ms('shutdown_timeout'),
    sieveCapability: {
      sieve: get<string>('managesieve_sieve_capability') || DEFAULT_SIEVE_CAPABILITY.sieve,
      notify: get<string>('managesieve_notify_capability') || DEFAULT_SIEVE_CAPABILITY.notify,
    },
    logFormat: get('log_format'),
    logLevel: get('log_level'),
    metricsListen: get('metrics_listen'),
    health: readHealthSettings(get, ms),
  };
}

/** {backend: {ssl: 'yes'}} -> [['backend.ssl', 'yes']]; arrays (listeners) stay whole values. */
function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(obj).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

/** Dovecot writes file settings as "<path". */
function stripLt(v: string): string {
  return v.startsWith('<') ? v.slice(1).trim() : v;
}
