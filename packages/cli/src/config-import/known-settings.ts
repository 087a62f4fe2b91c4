/**
 * How each Dovecot 2.3 setting a director's configuration may hold relates to usherd. Anything
 * not listed here is reported as unknown, so nothing is dropped silently.
 */

/** Same name, same syntax in usherd: copied as they are. */
export const SAME_NAME: ReadonlySet<string> = new Set([
  'director_servers',
  'director_mail_servers',
  'director_user_expire',
  'director_username_hash',
  'director_user_kick_delay',
  'login_trusted_networks',
  'haproxy_trusted_networks',
  'haproxy_timeout',
  'login_proxy_timeout',
  'auth_failure_delay',
]);

/**
 * Same name, but only meaningful with ManageSieve listeners (doveconf -n prints them whenever
 * Pigeonhole is installed, computed from its plugins, whether or not sieve is served).
 */
export const SIEVE_ONLY: ReadonlySet<string> = new Set([
  'managesieve_sieve_capability',
  'managesieve_notify_capability',
]);

/** Same name, an integer in usherd's JSON. */
export const SAME_NAME_NUMBER: ReadonlySet<string> = new Set([
  'director_max_parallel_moves',
  'director_max_parallel_kicks',
]);

/** Read by the converter itself (listeners, TLS, the user name), not copied one to one. */
export const HANDLED: ReadonlySet<string> = new Set([
  'protocols',
  'listen',
  'ssl',
  'ssl_cert',
  'ssl_key',
  'ssl_client_ca_file',
  'auth_master_user_separator',
  'master_user_separator',
  'auth_username_format',
  'auth_mechanisms',
  'disable_plaintext_auth',
]);

/** Meaningful in Dovecot, with no equivalent in usherd: reported as not carried over, with why. */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  director_flush_socket: 'no flush hook; usherd moves users itself (usheradm director move/flush)',
  director_ping_idle_timeout:
    'the ring uses gRPC keepalives: see director_ring_ping_interval / director_ring_ping_timeout',
  director_ping_max_timeout: 'the ring uses gRPC keepalives: see director_ring_ping_timeout',
  login_proxy_max_reconnects: 'usherd tries the chosen backend once per login; the client retries',
  login_proxy_max_disconnect_delay: 'kicks close sessions at once',
  login_greeting: 'usherd greets as "Usher ready."',
  login_log_format: 'usherd logs structured fields (log_format text or json)',
  login_log_format_elements: 'usherd logs structured fields (log_format text or json)',
  ssl_ca: 'no client certificate authentication',
  ssl_verify_client_cert: 'no client certificate authentication',
  ssl_require_crl: 'no client certificate authentication',
  ssl_min_protocol: "Node.js's TLS defaults apply (TLS 1.2 and later)",
  ssl_cipher_list: "Node.js's TLS defaults apply",
  ssl_curve_list: "Node.js's TLS defaults apply",
  ssl_prefer_server_ciphers: "Node.js's TLS defaults apply",
  ssl_client_ca_dir: 'usherd verifies backends with one CA file: backend.ssl_ca',
  ssl_client_cert: 'no client certificate towards backends',
  ssl_client_key: 'no client certificate towards backends',
  ssl_alt_cert: 'one certificate per node',
  ssl_alt_key: 'one certificate per node',
  ssl_key_password: 'the key must be unencrypted',
  imap_id_retain: "usherd forwards the client's address (x-originating-ip), not its ID parameters",
  imap_id_send: 'usherd sends no ID of its own',
  doveadm_port: 'no doveadm proxying',
  doveadm_password: 'no doveadm proxying',
  submission_host: 'no submission (SMTP) proxy',
  submission_relay_host: 'no submission (SMTP) proxy',
  auth_realms: 'usherd hashes the login name as given: fold realms into director_username_hash',
  auth_default_realm: 'usherd hashes the login name as given: fold the realm into director_username_hash',
  login_access_sockets: 'no login access checks',
  mail_max_userip_connections: 'enforced by the backends',
};

/** Known and not needed by a proxy ring (Dovecot internals, process model, mail storage). */
const IGNORED_EXACT = new Set([
  'base_dir',
  'state_dir',
  'instance_name',
  'lmtp_proxy',
  'auth_socket_path',
  'director_output_buffer_size',
  'director_consistent_hashing',
  'verbose_proctitle',
  'shutdown_clients',
  'import_environment',
  'version_ignore',
  'hostname',
  'postmaster_address',
  'recipient_delimiter',
  'first_valid_uid',
  'last_valid_uid',
  'first_valid_gid',
  'last_valid_gid',
  'valid_chroot_dirs',
  'ssl_dh',
  'lmtp_save_to_detail_mailbox',
  'lmtp_rcpt_check_quota',
  'lmtp_user_concurrency_limit',
  'login_proxy_notify_path',
  'login_plugin_dir',
  'login_plugins',
  'doveadm_socket_path',
  'log_path',
  'info_log_path',
  'debug_log_path',
  'syslog_facility',
  'log_timestamp',
  'protocol',
]);
const IGNORED_PREFIX = [
  'default_',
  'mail_',
  'mailbox_',
  'lda_',
  'auth_cache_',
  'auth_debug',
  'auth_verbose',
  'auth_worker_',
  'imap_',
  'pop3_',
  'quota',
  'sieve',
  'lmtp_',
  'submission_',
  'stats_',
  'metric',
  'log_',
];

export type Classification =
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unsupported'; readonly reason: string }
  | { readonly kind: 'unknown' };

/** What to say about a setting the converter does not copy. */
export function classify(key: string): Classification {
  const reason = UNSUPPORTED[key];
  if (reason) return { kind: 'unsupported', reason };
  if (IGNORED_EXACT.has(key) || IGNORED_PREFIX.some((p) => key.startsWith(p))) return { kind: 'ignored' };
  return { kind: 'unknown' };
}

/** Dovecot's default listeners per login service (doveconf -n prints only what differs from these). */
export const DEFAULT_LISTENERS: Readonly<Record<string, ReadonlyArray<{ name: string; port: number; ssl: boolean }>>> =
  {
    'imap-login': [
      { name: 'imap', port: 143, ssl: false },
      { name: 'imaps', port: 993, ssl: true },
    ],
    'pop3-login': [
      { name: 'pop3', port: 110, ssl: false },
      { name: 'pop3s', port: 995, ssl: true },
    ],
    'managesieve-login': [{ name: 'sieve', port: 4190, ssl: false }],
    lmtp: [],
  };

/** Dovecot protocol name -> (usherd protocol, the service whose inet_listeners serve it). */
export const PROTOCOL_SERVICES: Readonly<Record<string, { protocol: string; service: string }>> = {
  imap: { protocol: 'imap', service: 'imap-login' },
  pop3: { protocol: 'pop3', service: 'pop3-login' },
  sieve: { protocol: 'managesieve', service: 'managesieve-login' },
  lmtp: { protocol: 'lmtp', service: 'lmtp' },
};

/** SASL mechanisms usherd offers (it must see the credentials to replay them to the backend). */
export const USHER_MECHANISMS: ReadonlySet<string> = new Set(['plain', 'login', 'xoauth2', 'oauthbearer']);
