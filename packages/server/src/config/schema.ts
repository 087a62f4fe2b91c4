import convict from 'convict';
import { parseListenAddress } from '../observability/listen-address.js';
import { parseDovecotSize, parseDovecotTime } from './dovecot-time.js';

/**
 * usherd's settings. Where Dovecot has a setting for the same thing, the name, syntax and default
 * are Dovecot's, so a director's configuration carries over unchanged.
 */
convict.addFormat({
  name: 'dovecot-time',
  validate(value: unknown) {
    if (parseDovecotTime(value as string | number) === undefined) throw new Error(`not a time value: ${String(value)}`);
  },
  coerce: (v: string) => v,
});
convict.addFormat({
  name: 'dovecot-size',
  validate(value: unknown) {
    if (parseDovecotSize(value as string | number) === undefined) throw new Error(`not a size: ${String(value)}`);
  },
  coerce: (v: string) => v,
});
convict.addFormat({
  name: 'listen-address',
  validate(value: unknown) {
    if (value !== '' && (typeof value !== 'string' || !parseListenAddress(value)))
      throw new Error(`must be ip:port, [ipv6]:port or empty: ${String(value)}`);
  },
});
convict.addFormat({
  name: 'listeners',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of listeners');
    value.forEach((l: Record<string, unknown>, i) => {
      const where = `listeners[${i}]`;
      if (!['imap', 'pop3', 'lmtp', 'managesieve'].includes(l.protocol as string)) {
        throw new Error(`${where}.protocol must be imap, pop3, lmtp or managesieve`);
      }
      if (typeof l.address !== 'string' || l.address === '') throw new Error(`${where}.address is required`);
      if (!Number.isInteger(l.port) || (l.port as number) < 1 || (l.port as number) > 65535)
        throw new Error(`${where}.port must be 1..65535`);
      if (l.ssl !== undefined && typeof l.ssl !== 'boolean') throw new Error(`${where}.ssl must be true or false`);
      if (l.haproxy !== undefined && typeof l.haproxy !== 'boolean')
        throw new Error(`${where}.haproxy must be true or false`);
    });
  },
});

function positiveInt(value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new Error(`must be a whole number >= 1: ${String(value)}`);
}

export const schema = {
  node_name: { doc: 'Name of this node in logs.', format: String, default: 'usher', env: 'USHER_NODE_NAME' },
  director_servers: {
    doc: 'Ring members, space-separated ip[:port] or hostnames. Empty = standalone node.',
    format: String,
    default: '',
  },
  director_ring_address: {
    doc: 'Address this node listens on for ring peers (its id is address:port; it must be in director_servers).',
    format: String,
    default: '',
  },
  director_ring_port: {
    doc: 'Ring (gRPC) port; also the default port of director_servers entries.',
    format: 'port',
    default: 9090,
  },
  director_ring_ssl_ca: {
    doc: 'Cluster CA (PEM) that signs every ring peer certificate.',
    format: String,
    default: '',
  },
  director_ring_ssl_cert: {
    doc: "This node's ring certificate (PEM; SAN IP = director_ring_address).",
    format: String,
    default: '',
  },
  director_ring_ssl_key: { doc: 'Key of director_ring_ssl_cert.', format: String, default: '' },
  director_ring_insecure: {
    doc: 'Run the ring without TLS or peer authentication. Only for labs; never on a shared network.',
    format: Boolean,
    default: false,
  },
  director_ring_ping_interval: { doc: 'Ring liveness ping interval.', format: 'dovecot-time', default: '1 secs' },
  director_ring_ping_timeout: {
    doc: 'A ring peer silent this long is considered gone; its neighbours re-link around it.',
    format: 'dovecot-time',
    default: '5 secs',
  },
  director_ring_sync_timeout: {
    doc: 'Admin changes fail if the ring has not synced within this time.',
    format: 'dovecot-time',
    default: '30 secs',
  },
  director_user_kick_delay: {
    doc: "After a move has kicked the user's sessions everywhere, wait this long before logins continue.",
    format: 'dovecot-time',
    default: '2 secs',
  },
  director_max_parallel_moves: {
    doc: 'Concurrent moves during a flush (HOST-RESET-USERS).',
    format: 'nat',
    default: 100,
  },
  director_max_parallel_kicks: { doc: 'Concurrent admin kicks.', format: 'nat', default: 100 },
  director_admin_socket: {
    doc: 'UNIX socket of the director-admin protocol (doveadm director, poolmon). Empty = off.',
    format: String,
    default: '/run/dovecot/director-admin',
  },
  director_admin_socket_mode: {
    doc: 'Permissions of director_admin_socket (octal).',
    format: (v: unknown) => {
      if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v))
        throw new Error(`must be an octal mode like 0600: ${String(v)}`);
    },
    default: '0600',
  },
  director_admin_tcp: {
    doc: 'director-admin over TCP (no authentication!): "port" (loopback) or "address:port". Empty = off.',
    format: String,
    default: '',
  },
  admin_grpc_listen: {
    doc: 'The gRPC admin API (usheradm --grpc): "address:port". Empty = off. Needs admin_grpc_ssl_client_ca or admin_grpc_token_file; without admin_grpc_ssl_cert only a loopback address is allowed.',
    format: String,
    default: '',
  },
  admin_grpc_ssl_cert: {
    doc: 'Server certificate (PEM) of the gRPC admin API; the name or IP usheradm dials must be in it.',
    format: String,
    default: '',
  },
  admin_grpc_ssl_key: { doc: 'Key of admin_grpc_ssl_cert.', format: String, default: '' },
  admin_grpc_ssl_client_ca: {
    doc: 'CA (PEM) whose client certificates may use the gRPC admin API (mTLS). Empty = no client certificates.',
    format: String,
    default: '',
  },
  admin_grpc_token_file: {
    doc: 'File holding the bearer token every gRPC admin call must present (one word, at least 16 characters; keep it 0600). Empty = no token.',
    format: String,
    default: '',
  },
  director_mail_servers: {
    doc: 'Backends: IP, hostname, IP1-IP2 range, each optionally @tag (Dovecot syntax).',
    format: String,
    default: '',
    env: 'USHER_DIRECTOR_MAIL_SERVERS',
  },
  director_user_expire: {
    doc: 'Keep a user->backend assignment this long after its last refresh (at least 10 s).',
    format: 'dovecot-time',
    default: '15 min',
  },
  director_username_hash: {
    doc: 'What is hashed to place a user (Dovecot %-expansion).',
    format: String,
    default: '%Lu',
  },
  auth_master_user_separator: {
    doc: 'Master user separator: "user*master" is routed by "user". Empty = none.',
    format: String,
    default: '',
  },
  login_trusted_networks: {
    doc: 'Clients in these networks may log in with plaintext credentials without TLS.',
    format: String,
    default: '',
  },
  haproxy_trusted_networks: {
    doc: 'Only these sources may send a PROXY protocol header.',
    format: String,
    default: '',
  },
  haproxy_timeout: { doc: 'The PROXY header must arrive within this time.', format: 'dovecot-time', default: '3 secs' },
  ssl_cert: {
    doc: 'PEM certificate file for TLS listeners and STARTTLS ("<path" accepted).',
    format: String,
    default: '',
  },
  ssl_key: { doc: 'PEM key file for ssl_cert ("<path" accepted).', format: String, default: '' },
  listeners: {
    doc: 'Client listeners: [{protocol, address, port, ssl?: implicit TLS, haproxy?: PROXY header required, tag?}]',
    format: 'listeners',
    default: [] as Array<{
      protocol: string;
      address: string;
      port: number;
      ssl?: boolean;
      haproxy?: boolean;
      tag?: string;
    }>,
  },
  backend: {
    imap_port: { doc: 'Backend IMAP port.', format: 'port', default: 143 },
    pop3_port: { doc: 'Backend POP3 port.', format: 'port', default: 110 },
    lmtp_port: { doc: 'Backend LMTP port.', format: 'port', default: 24 },
    managesieve_port: { doc: 'Backend ManageSieve port.', format: 'port', default: 4190 },
    ssl: { doc: 'TLS to backends: no, yes (implicit), starttls.', format: ['no', 'yes', 'starttls'], default: 'no' },
    ssl_ca: { doc: 'CA file to verify backend certificates (default: system CAs).', format: String, default: '' },
    ssl_verify: {
      doc: "Verify backend certificates (Dovecot's ssl=any-cert is false).",
      format: Boolean,
      default: true,
    },
  },
  login_proxy_timeout: { doc: 'Backend connect timeout.', format: 'dovecot-time', default: '30 secs' },
  login_proxy_ttl: { doc: 'Proxy TTL sent to backends (loop guard).', format: 'nat', default: 5 },
  auth_failure_delay: { doc: 'Delay before a failed login is answered.', format: 'dovecot-time', default: '2 secs' },
  login_max_auth_attempts: { doc: 'Failed logins per connection before it is closed.', format: 'nat', default: 5 },
  login_max_line_length: { doc: 'Longest pre-auth command line.', format: 'dovecot-size', default: '8k' },
  login_max_literal_size: {
    doc: 'Largest literal or SASL response before login.',
    format: 'dovecot-size',
    default: '64k',
  },
  login_client_timeout: { doc: 'Pre-auth idle timeout.', format: 'dovecot-time', default: '60 secs' },
  login_max_bad_commands: { doc: 'Invalid pre-auth commands before disconnect.', format: 'nat', default: 10 },
  login_max_connections_per_ip: {
    doc: 'Concurrent connections per client IP on each listener (0 = unlimited).',
    format: 'nat',
    default: 100,
  },
  lmtp_proxy_timeout: { doc: 'LMTP backend reply timeout.', format: 'dovecot-time', default: '125 secs' },
  lmtp_max_message_size: { doc: 'Largest LMTP message (0 = unlimited).', format: 'dovecot-size', default: '0' },
  health_checks: {
    doc: 'Probe the backends and mark them down / up ring-wide when a majority of the nodes agrees.',
    format: Boolean,
    default: true,
  },
  health_check_interval: {
    doc: 'A round of backend probes starts this often.',
    format: 'dovecot-time',
    default: '5 secs',
  },
  health_check_timeout: {
    doc: 'A probe (connect and dialogue) not finished within this time failed.',
    format: 'dovecot-time',
    default: '5 secs',
  },
  health_check_fail_count: {
    doc: 'Consecutive failed probes before this node reports a backend failing.',
    format: positiveInt,
    default: 3,
  },
  health_check_ok_count: {
    doc: 'Consecutive successful probes before this node reports a backend ok again.',
    format: positiveInt,
    default: 2,
  },
  health_check_protocols: {
    doc: 'Services probed on every backend (imap: "* OK" greeting, pop3: "+OK", lmtp: 220 and LHLO); all must pass.',
    format: (value: unknown) => {
      const words = String(value)
        .split(/[\s,]+/)
        .filter(Boolean);
      if (words.length === 0 || words.some((w) => !['imap', 'pop3', 'lmtp'].includes(w)))
        throw new Error(`must list imap, pop3 and/or lmtp: ${String(value)}`);
    },
    default: 'imap lmtp',
  },
  health_check_user: {
    doc: 'Probe account: when set, the IMAP and POP3 probes also log in with it. Empty = greeting only.',
    format: String,
    default: '',
  },
  health_check_password: { doc: 'Password of health_check_user.', format: String, default: '', sensitive: true },
  health_check_lmtp_rcpt: {
    doc: 'When set, the LMTP probe also sends MAIL FROM:<> and RCPT TO this address (nothing is delivered).',
    format: String,
    default: '',
  },
  health_move_users_after: {
    doc: 'Move the users of a backend the health checks marked down this long ago to other backends. Empty = never (users stay, as with HOST-DOWN).',
    format: (value: unknown) => {
      if (value !== '' && parseDovecotTime(value as string | number) === undefined)
        throw new Error(`not a time value: ${String(value)}`);
    },
    default: '',
  },
  shutdown_timeout: {
    doc: 'On SIGTERM, let sessions finish this long, then close them with the protocol goodbye.',
    format: 'dovecot-time',
    default: '30 secs',
  },
  managesieve_sieve_capability: {
    doc: "SIEVE capability announced before login (the backends' Sieve extensions). Empty = Pigeonhole 0.5 default.",
    format: String,
    default: '',
  },
  managesieve_notify_capability: {
    doc: 'NOTIFY capability announced before login. Empty = Pigeonhole 0.5 default (mailto).',
    format: String,
    default: '',
  },
  metrics_listen: {
    doc: 'HTTP endpoint for /metrics (Prometheus), /healthz and /readyz, as ip:port (e.g. 127.0.0.1:9100). Empty = off.',
    format: 'listen-address',
    default: '',
    env: 'USHER_METRICS_LISTEN',
  },
  log_format: { doc: 'Log line format.', format: ['text', 'json'], default: 'text', env: 'USHER_LOG_FORMAT' },
  log_level: {
    doc: 'Least severe level logged.',
    format: ['error', 'warn', 'info', 'debug'],
    default: 'info',
    env: 'USHER_LOG_LEVEL',
  },
};
