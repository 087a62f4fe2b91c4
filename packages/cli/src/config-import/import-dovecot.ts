import { isIP } from 'node:net';
import { type ConfSection, type ConfSetting, type ParsedConf, sectionsOf, settingOf } from './dovecot-conf.js';
import { Findings } from './findings.js';
import { classify, HANDLED, SAME_NAME, SAME_NAME_NUMBER, SIEVE_ONLY, USHER_MECHANISMS } from './known-settings.js';
import { importListeners } from './listeners.js';
import { importPassdbs } from './passdb.js';

export interface ImportOptions {
  /** This node's own ring address (director_ring_address), when the configuration does not pin one. */
  readonly self?: string;
  /** Reads a `<file` value; undefined when it cannot. Injected so the converter stays pure. */
  readonly readFile?: (path: string) => string | undefined;
}

export interface ImportResult {
  /** usherd's JSON configuration. */
  readonly config: Record<string, unknown>;
  readonly findings: Findings;
}

/** Settings whose `<file` value stays a path: usherd reads the file itself. */
const PATH_SETTINGS = new Set(['ssl_cert', 'ssl_key', 'ssl_client_ca_file']);

/**
 * A director's Dovecot configuration -> usherd's: the same ring (director_servers and the ring
 * port), the same backends and placement settings, the same client listeners. Whatever has no
 * equivalent is reported by name in `findings`, never dropped silently.
 */
export function importDovecot(parsed: ParsedConf, opts: ImportOptions = {}): ImportResult {
  const f = new Findings();
  const root = parsed.root;
  const config: Record<string, unknown> = {};
  for (const inc of parsed.includes) {
    f.attention(
      `!include${inc.optional ? '_try' : ''} ${inc.path}`,
      'not followed: feed `doveconf -n` output, which has every include resolved',
      inc,
    );
  }
  const value = (key: string): string | undefined => {
    const s = settingOf(root, key);
    if (!s) return undefined;
    if (s.hidden) {
      f.attention(key, 'hidden by doveconf -n: run `doveconf -nP`, or set it in the JSON by hand', s);
      return undefined;
    }
    if (s.fromFile === undefined || PATH_SETTINGS.has(key)) return s.value;
    const text = opts.readFile?.(s.fromFile);
    if (text === undefined) f.attention(key, `value is read from ${s.fromFile}, which could not be read`, s);
    return text?.trim();
  };

  // the ring
  const directorServers = value('director_servers') ?? '';
  if (directorServers) config.director_servers = directorServers;
  const director = sectionsOf(root, 'service', 'director');
  const ringListener = director.flatMap((d) => sectionsOf(d, 'inet_listener'))[0];
  const ringPort = ringListener ? settingOf(ringListener, 'port') : undefined;
  const ringListenAddress = ringListener ? settingOf(ringListener, 'address')?.value : undefined;
  if (ringPort && Number(ringPort.value) > 0) config.director_ring_port = Number(ringPort.value);
  if (directorServers) {
    const self = opts.self ?? pickSelf(ringListenAddress, value('listen'), directorServers);
    if (self) config.director_ring_address = self;
    else
      f.attention(
        'director_ring_address',
        "this node's own address in director_servers is not in the configuration: pass --self IP (one JSON per node)",
      );
    if (!ringPort)
      f.attention(
        'service/director/inet_listener/port',
        `no ring port configured; usherd uses ${9090}, and director_servers entries without a port use it`,
      );
    f.attention(
      'director_ring_ssl_ca',
      "Dovecot's ring has no TLS, usherd's needs mutual TLS: make certificates with deploy/certs/make-ring-certs.sh and set director_ring_ssl_ca/_cert/_key (director_ring_insecure only on a trusted lab network)",
    );
  }
  for (const s of director.flatMap((d) => d.settings)) f.ignored(`service/director/${s.key}`, s);
  for (const s of director.flatMap((d) => d.sections))
    if (s.type !== 'inet_listener') f.ignored(`service/director/${s.type} ${s.name}`.trim(), s);

  // placement, limits, trusted networks: same names
  for (const key of SAME_NAME) {
    const v = value(key);
    if (v !== undefined) config[key] = v;
  }
  for (const key of SAME_NAME_NUMBER) {
    const v = value(key);
    if (v === undefined) continue;
    if (/^\d+$/.test(v)) config[key] = Number(v);
    else f.notCarried(key, `not a number: ${v}`, settingOf(root, key));
  }
  usernameHash(root, config, f);
  masterSeparator(root, config, f);

  // TLS and listeners
  const ssl = value('ssl') ?? 'yes';
  const cert = value('ssl_cert');
  const key = value('ssl_key');
  const tls = ssl !== 'no' && (cert ?? '') !== '';
  if (tls) {
    config.ssl_cert = cert;
    if (key) config.ssl_key = key;
    else if (!settingOf(root, 'ssl_key')?.hidden) f.attention('ssl_key', 'ssl_cert is set but ssl_key is not');
  }
  const disablePlaintext = value('disable_plaintext_auth');
  if (disablePlaintext === 'no')
    f.notCarried(
      'disable_plaintext_auth',
      'usherd accepts passwords without TLS only from login_trusted_networks',
      settingOf(root, 'disable_plaintext_auth'),
    );
  const mechanisms = (value('auth_mechanisms') ?? 'plain').toLowerCase().split(/\s+/).filter(Boolean);
  const unsupported = mechanisms.filter((m) => !USHER_MECHANISMS.has(m));
  if (unsupported.length > 0)
    f.notCarried(
      'auth_mechanisms',
      `${unsupported.join(' ')}: usherd offers PLAIN, LOGIN, XOAUTH2, OAUTHBEARER (it replays the credentials to the backend)`,
      settingOf(root, 'auth_mechanisms'),
    );
  const protocolsSetting = settingOf(root, 'protocols');
  const protocols = protocolsSetting ? protocolsSetting.value.split(/\s+/).filter(Boolean) : [];
  if (!protocolsSetting)
    f.attention('protocols', 'not set (Dovecot serves nothing then): no listeners carried over; add them to the JSON');
  const listeners = importListeners(root, { protocols, listen: value('listen') ?? '*, ::', tls }, f);
  if (listeners.length > 0) config.listeners = listeners;
  for (const key of SIEVE_ONLY) {
    const s = settingOf(root, key);
    if (!s) continue;
    if (listeners.some((l) => l.protocol === 'managesieve')) config[key] = value(key);
    else f.ignored(key, s);
  }

  // backends: TLS, ports
  const backend: Record<string, unknown> = {};
  const clientCa = value('ssl_client_ca_file');
  if (clientCa) backend.ssl_ca = clientCa;
  const lmtpPorts = [...new Set(listeners.filter((l) => l.protocol === 'lmtp').map((l) => l.port))];
  // Dovecot's LMTP proxy connects to the backend port the client connected to (no passdb port=)
  if (lmtpPorts.length === 1 && lmtpPorts[0] !== 24) backend.lmtp_port = lmtpPorts[0];
  if (lmtpPorts.length > 1)
    f.attention('service/lmtp/inet_listener', `LMTP on several ports (${lmtpPorts.join(', ')}): set backend.lmtp_port`);
  importPassdbs(root, backend, config, f);
  if (Object.keys(backend).length > 0) config.backend = backend;

  // everything else, by name
  for (const s of root.settings) {
    if (SAME_NAME.has(s.key) || SAME_NAME_NUMBER.has(s.key) || SIEVE_ONLY.has(s.key) || HANDLED.has(s.key)) continue;
    report(s.key, s, f);
  }
  for (const section of root.sections) reportSection(section, f);
  return { config: ordered(config), findings: f };
}

function report(path: string, s: ConfSetting | ConfSection, f: Findings): void {
  const key = path.split('/').at(-1) as string;
  const c = classify(key);
  if (c.kind === 'ignored') f.ignored(path, s);
  else if (c.kind === 'unsupported') f.notCarried(path, c.reason, s);
  else f.notCarried(path, 'unknown to the importer: check whether it matters', s);
}

/** Sections other than the ones read above: services, per-protocol and per-address blocks, storage. */
function reportSection(section: ConfSection, f: Findings): void {
  const path = `${section.type}${section.name ? `/${section.name}` : ''}`;
  if (section.type === 'service') {
    if (section.name === 'director') return;
    const login = ['imap-login', 'pop3-login', 'managesieve-login', 'lmtp'].includes(section.name);
    for (const s of section.settings) f.ignored(`${path}/${s.key}`, s);
    for (const sub of section.sections) {
      if (login && sub.type === 'inet_listener') continue;
      if (sub.type === 'inet_listener')
        f.notCarried(
          `${path}/inet_listener/${sub.name}`,
          section.name === 'doveadm' ? 'no doveadm proxying' : 'usherd does not serve this',
          sub,
        );
      else f.ignored(`${path}/${sub.type} ${sub.name}`.trim(), sub);
    }
    return;
  }
  if (['protocol', 'local', 'remote', 'local_name'].includes(section.type)) {
    for (const s of section.settings) {
      const inner = `${path}/${s.key}`;
      if (SAME_NAME.has(s.key) || SAME_NAME_NUMBER.has(s.key) || HANDLED.has(s.key))
        f.notCarried(inner, `usherd has one value for all protocols and addresses (the top-level one)`, s);
      else report(inner, s, f);
    }
    for (const sub of section.sections) reportSection(sub, f);
    return;
  }
  if (section.type === 'passdb') return;
  if (
    ['userdb', 'namespace', 'plugin', 'dict', 'mail_attribute_dict', 'metric', 'event_exporter'].includes(section.type)
  ) {
    f.ignored(path, section);
    return;
  }
  f.notCarried(path, 'unknown section: check whether it matters', section);
}

/**
 * The director hashed the name the auth process returned, after auth_username_format (default
 * %Lu: lowercased); usherd hashes the login name itself. With the default, a hash format on the
 * raw name (%u, %n, %d) therefore saw it lowercased: write that explicitly so placement is unchanged.
 */
function usernameHash(root: ConfSection, config: Record<string, unknown>, f: Findings): void {
  const format = settingOf(root, 'auth_username_format')?.value ?? '%Lu';
  const hash = (config.director_username_hash as string | undefined) ?? '%Lu';
  if (format === '%Lu') {
    const lowered = hash.replace(/%([und])/g, '%L$1');
    if (lowered !== hash) {
      config.director_username_hash = lowered;
      f.attention(
        'director_username_hash',
        `written as ${lowered}: auth_username_format %Lu lowercased names before the director hashed ${hash}`,
      );
    }
  } else if (format !== '%u') {
    f.notCarried(
      'auth_username_format',
      `${format} changed the name the director hashed; usherd hashes the login name: fold it into director_username_hash and compare with \`usheradm director map\``,
      settingOf(root, 'auth_username_format'),
    );
  }
}

/**
 * Dovecot 2.3.19 directors read master_user_separator, not auth_master_user_separator, and
 * hashed "user*master" whole without it; usherd routes by "user", as 2.3.20 does.
 */
function masterSeparator(root: ConfSection, config: Record<string, unknown>, f: Findings): void {
  const director = settingOf(root, 'master_user_separator')?.value;
  const auth = settingOf(root, 'auth_master_user_separator')?.value;
  const sep = director || auth;
  if (sep) config.auth_master_user_separator = sep;
  if (auth && !director)
    f.attention(
      'auth_master_user_separator',
      'Dovecot 2.3.19 directors ignored it (master_user_separator unset) and placed "user*master" by the whole string; usherd places it with "user", like 2.3.20+',
    );
}

function pickSelf(
  listenerAddress: string | undefined,
  listen: string | undefined,
  servers: string,
): string | undefined {
  // a node id is an address: "*", "::" or a name cannot say which member this node is
  const concrete = (a: string) => {
    const t = a.trim().replace(/^\[(.*)\]$/, '$1');
    return isIP(t) !== 0 && t !== '0.0.0.0' && t !== '::' ? t : undefined;
  };
  const members = servers
    .split(/\s+/)
    .filter(Boolean)
    .map((m) => m.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1'));
  // the ring listener's address, else a `listen` address that is a member; a ring of one is itself
  const candidates = [listenerAddress ?? '', ...(listen ?? '').split(/[\s,]+/)]
    .map(concrete)
    .filter((a): a is string => a !== undefined);
  const listed = candidates.find((a) => members.includes(a));
  if (listed) return listed;
  if (listenerAddress && concrete(listenerAddress)) return concrete(listenerAddress);
  return members.length === 1 ? concrete(members[0] as string) : undefined;
}

const ORDER = [
  'director_servers',
  'director_ring_address',
  'director_ring_port',
  'director_mail_servers',
  'director_user_expire',
  'director_username_hash',
];

function ordered(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ORDER) if (k in config) out[k] = config[k];
  for (const k of Object.keys(config).sort())
    if (!(k in out) && k !== 'listeners' && k !== 'backend') out[k] = config[k];
  if (config.backend) out.backend = config.backend;
  if (config.listeners) out.listeners = config.listeners;
  return out;
}
