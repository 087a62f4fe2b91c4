import { type ConfSection, sectionsOf, settingOf } from './dovecot-conf.js';
import type { Findings } from './findings.js';

/** Fields a director's static passdb commonly returns that mean nothing beyond "proxy this". */
const PLAIN_PROXY_FIELDS = new Set(['proxy', 'proxy_maybe', 'director_proxy_maybe', 'nopassword', 'allow_nets']);

/**
 * A director's passdb only says "proxy" (the backends check passwords: usherd needs none), but
 * its extra fields can carry backend TLS, a timeout or a tag. Those with an usherd equivalent are
 * carried into `backend` / the top level; the others are reported by name.
 */
export function importPassdbs(
  root: ConfSection,
  backend: Record<string, unknown>,
  config: Record<string, unknown>,
  f: Findings,
): void {
  sectionsOf(root, 'passdb').forEach((p, i) => {
    const path = `passdb${p.name ? `/${p.name}` : root.sections.filter((s) => s.type === 'passdb').length > 1 ? `/${i}` : ''}`;
    const driver = settingOf(p, 'driver')?.value ?? '';
    if (driver === 'static') f.ignored(`${path} (static: usherd needs no passdb)`, p);
    else {
      f.notCarried(
        `${path}/driver`,
        `${driver || '(none)'}: usherd has no passdb; it places every user by hash (per-user host= pinning is not supported)`,
        settingOf(p, 'driver'),
      );
    }
    for (const s of p.settings) {
      if (s.key === 'driver') continue;
      if (!['args', 'override_fields', 'default_fields'].includes(s.key)) {
        f.ignored(`${path}/${s.key}`, s);
        continue;
      }
      // another driver's args are its own (a file, a query), not reply fields
      if (driver !== 'static' && s.key === 'args') continue;
      for (const token of s.value.split(/\s+/).filter(Boolean)) {
        const [name, ...rest] = token.split('=');
        const v = rest.join('=');
        const where = `${path}/${s.key}/${name}`;
        if (PLAIN_PROXY_FIELDS.has(name as string)) continue;
        if (name === 'ssl' || name === 'starttls') {
          if (v === 'yes' || v === 'any-cert') {
            backend.ssl = name === 'ssl' ? 'yes' : 'starttls';
            if (v === 'any-cert') backend.ssl_verify = false;
          }
        } else if (name === 'proxy_timeout') {
          config.login_proxy_timeout = /^\d+$/.test(v) ? `${v} secs` : v;
        } else if (name === 'director_tag') {
          f.attention(
            where,
            `tag ${v}: usherd takes the tag per listener, not per user: set "tag": "${v}" on the listeners whose users belong to it`,
            s,
          );
        } else if (name === 'port') {
          f.notCarried(where, `${v}: set backend.imap_port / pop3_port / lmtp_port / managesieve_port instead`, s);
        } else if (name === 'host' || name === 'hostip') {
          f.notCarried(where, 'usherd places every user by hash; a fixed host per user is not supported', s);
        } else {
          f.notCarried(where, 'passdb field with no usherd equivalent', s);
        }
      }
    }
  });
}
