import { type ConfSection, type ConfSetting, sectionsOf, settingOf } from './dovecot-conf.js';
import type { Findings } from './findings.js';
import { DEFAULT_LISTENERS, PROTOCOL_SERVICES } from './known-settings.js';

export interface UsherListener {
  protocol: string;
  address: string;
  port: number;
  ssl?: boolean;
  haproxy?: boolean;
}

const LISTENER_KEYS = new Set(['address', 'port', 'ssl', 'haproxy', 'reuse_port']);

/**
 * Client listeners from `protocols` and the login services' inet_listeners. doveconf -n prints a
 * listener only where it differs from Dovecot's defaults, so the defaults (imap 143, imaps 993,
 * pop3 110, pop3s 995, sieve 4190) are the starting point and printed fields override them;
 * `port = 0` disables one, as in Dovecot. An address-less listener binds to `listen`.
 */
export function importListeners(
  root: ConfSection,
  opts: { protocols: readonly string[]; listen: string; tls: boolean },
  f: Findings,
): UsherListener[] {
  const out: UsherListener[] = [];
  const addresses = listenAddresses(opts.listen, f);
  for (const dovecotProtocol of opts.protocols) {
    const map = PROTOCOL_SERVICES[dovecotProtocol];
    if (!map) {
      if (dovecotProtocol === 'submission')
        f.notCarried('protocols', 'submission: usherd has no submission (SMTP) proxy', settingOf(root, 'protocols'));
      else if (dovecotProtocol !== '')
        f.notCarried('protocols', `${dovecotProtocol}: not a protocol usherd proxies`, settingOf(root, 'protocols'));
      continue;
    }
    const merged = new Map<string, { port: number; ssl: boolean; haproxy: boolean; address: string }>();
    for (const d of DEFAULT_LISTENERS[map.service] ?? []) merged.set(d.name, { ...d, haproxy: false, address: '' });
    for (const service of sectionsOf(root, 'service', map.service)) {
      for (const l of sectionsOf(service, 'inet_listener')) {
        const cur = merged.get(l.name) ?? { port: 0, ssl: false, haproxy: false, address: '' };
        for (const s of l.settings) {
          const where = `service/${map.service}/inet_listener/${l.name}/${s.key}`;
          if (s.key === 'port') cur.port = Number(s.value);
          else if (s.key === 'ssl') cur.ssl = yes(s);
          else if (s.key === 'haproxy') cur.haproxy = yes(s);
          else if (s.key === 'address') cur.address = s.value;
          else if (!LISTENER_KEYS.has(s.key)) f.notCarried(where, 'unknown listener setting', s);
          if (s.key === 'reuse_port' && yes(s)) f.ignored(where, s);
        }
        merged.set(l.name, cur);
      }
    }
    for (const [name, l] of merged) {
      if (!Number.isInteger(l.port) || l.port <= 0 || l.port > 65535) continue;
      if (l.ssl && !opts.tls) {
        f.attention(
          `service/${map.service}/inet_listener/${name}`,
          'ssl listener dropped: ssl = no (or no ssl_cert/ssl_key) in this configuration',
        );
        continue;
      }
      const ips = l.address ? listenAddresses(l.address, f) : addresses;
      for (const address of ips) {
        out.push({
          protocol: map.protocol,
          address,
          port: l.port,
          ...(l.ssl ? { ssl: true } : {}),
          ...(l.haproxy ? { haproxy: true } : {}),
        });
      }
    }
  }
  return out;
}

/**
 * Dovecot's `listen` list -> bind addresses. "*" is every IPv4 address, "::" every IPv6 one;
 * Node's "::" socket is dual-stack and would collide with a "0.0.0.0" socket on the same port,
 * so when both are listed only "0.0.0.0" is kept and the IPv6 wildcard is reported.
 */
function listenAddresses(listen: string, f: Findings): string[] {
  const tokens = listen.split(/[\s,]+/).filter(Boolean);
  const out = new Set<string>();
  for (const t of tokens) out.add(t === '*' ? '0.0.0.0' : t === '[::]' ? '::' : t);
  if (out.has('0.0.0.0') && out.has('::')) {
    out.delete('::');
    f.attentionOnce(
      'listen',
      `"${listen}": IPv6 wildcard not carried (Node's "::" socket already accepts IPv4 and would collide with "0.0.0.0"); use "::" alone where IPv6 is needed`,
    );
  }
  return [...out];
}

function yes(s: ConfSetting): boolean {
  return /^(yes|y|true|1)$/i.test(s.value);
}
