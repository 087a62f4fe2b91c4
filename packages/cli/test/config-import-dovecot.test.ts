import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importDovecot, parseDovecotConf } from '../src/config-import/index.js';
import { run } from '../src/main.js';
import { capture } from './capture.js';

const dir = mkdtempSync(join(tmpdir(), 'usher-import-'));

/** What `doveconf -n` prints for a typical director (hand-written in its exact format). */
const DOVECONF_N = `# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf
# OS: Linux 6.1.0 x86_64 Debian 12.11
auth_master_user_separator = *
base_dir = /run/dovecot
director_flush_socket = /run/flush
director_mail_servers = 10.0.0.21-10.0.0.23 10.0.0.30@blue
director_max_parallel_kicks = 20
director_servers = 10.0.0.5 10.0.0.6 10.0.0.7:9999
director_user_expire = 10 mins
director_username_hash = %n
haproxy_trusted_networks = 10.1.0.0/16
listen = 10.0.0.5
login_trusted_networks = 10.0.0.0/24
protocols = " imap pop3 lmtp submission"
passdb {
  args = proxy=y nopassword=y starttls=any-cert director_tag=blue port=1143
  driver = static
}
service director {
  inet_listener {
    port = 9090
  }
  unix_listener login/director {
    mode = 0666
  }
}
service imap-login {
  executable = imap-login director
  inet_listener imap_haproxy {
    haproxy = yes
    port = 10143
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 10.0.0.50
    port = 2424
  }
}
ssl_cert = </etc/ssl/mail.pem
ssl_key = # hidden, use -P to show it
x_site_setting = 1
protocol imap {
  ssl_cert = </etc/ssl/imap.pem
  mail_plugins = " quota"
}
`;

describe('parseDovecotConf', () => {
  it('reads settings, sections, includes, quotes, comments, continuations and <file values', () => {
    const p = parseDovecotConf(
      [
        '# comment',
        'protocols = imap',
        'protocols = $protocols lmtp',
        'a = "quoted # not a comment" # comment',
        "b = 'x'",
        'long = one \\',
        '  two',
        'ssl_key = </etc/k.pem',
        '!include_try conf.d/*.conf',
        'service imap-login {',
        '  inet_listener "imap" {',
        '    port = 143',
        '  }',
        '}',
      ].join('\n'),
    );
    expect(p.errors).toEqual([]);
    const get = (k: string) => p.root.settings.filter((s) => s.key === k).at(-1);
    expect(get('protocols')?.value).toBe('imap lmtp');
    expect(get('a')?.value).toBe('quoted # not a comment');
    expect(get('b')?.value).toBe('x');
    expect(get('long')?.value).toBe('one    two');
    expect(get('ssl_key')).toMatchObject({ value: '/etc/k.pem', fromFile: '/etc/k.pem', line: 8 });
    expect(p.includes).toEqual([{ path: 'conf.d/*.conf', optional: true, line: 9 }]);
    const svc = p.root.sections[0];
    expect(svc).toMatchObject({ type: 'service', name: 'imap-login', line: 10 });
    expect(svc?.sections[0]).toMatchObject({ type: 'inet_listener', name: 'imap' });
    expect(svc?.sections[0]?.settings[0]).toMatchObject({ key: 'port', value: '143', line: 12 });
  });

  it('marks values doveconf -n hid, and reports what it cannot read by line', () => {
    const p = parseDovecotConf('ssl_key = # hidden, use -P to show it\nwhat is this\n}\nx {\n');
    expect(p.root.settings[0]).toMatchObject({ key: 'ssl_key', value: '', hidden: true });
    expect(p.errors.map((e) => e.line)).toEqual([2, 3, 5]);
  });
});

describe('importDovecot', () => {
  const { config, findings } = importDovecot(parseDovecotConf(DOVECONF_N));

  it('carries the ring, the backends and the placement settings', () => {
    expect(config).toMatchObject({
      director_servers: '10.0.0.5 10.0.0.6 10.0.0.7:9999',
      director_ring_address: '10.0.0.5',
      director_ring_port: 9090,
      director_mail_servers: '10.0.0.21-10.0.0.23 10.0.0.30@blue',
      director_user_expire: '10 mins',
      // auth_username_format (default %Lu) lowercased the name before the director hashed %n
      director_username_hash: '%Ln',
      director_max_parallel_kicks: 20,
      auth_master_user_separator: '*',
      login_trusted_networks: '10.0.0.0/24',
      haproxy_trusted_networks: '10.1.0.0/16',
      ssl_cert: '/etc/ssl/mail.pem',
      backend: { ssl: 'starttls', ssl_verify: false, lmtp_port: 2424 },
    });
    expect(config).not.toHaveProperty('ssl_key');
  });

  it('builds listeners from protocols, the default listeners and the printed ones', () => {
    expect(config.listeners).toEqual([
      { protocol: 'imap', address: '10.0.0.5', port: 143 },
      { protocol: 'imap', address: '10.0.0.5', port: 10143, haproxy: true },
      { protocol: 'pop3', address: '10.0.0.5', port: 110 },
      { protocol: 'pop3', address: '10.0.0.5', port: 995, ssl: true },
      { protocol: 'lmtp', address: '10.0.0.50', port: 2424 },
    ]);
  });

  it('names everything it could not carry over', () => {
    const names = (l: ReadonlyArray<{ setting: string }>) => l.map((f) => f.setting);
    expect(names(findings.notCarriedList)).toEqual(
      expect.arrayContaining([
        'director_flush_socket',
        'x_site_setting',
        'protocols',
        'passdb/args/port',
        'protocol/imap/ssl_cert',
      ]),
    );
    expect(findings.notCarriedList.find((f) => f.setting === 'x_site_setting')?.reason).toMatch(/unknown/);
    expect(findings.notCarriedList.find((f) => f.setting === 'director_flush_socket')?.line).toBe(5);
    expect(names(findings.attentionList)).toEqual(
      expect.arrayContaining([
        'ssl_key',
        'director_ring_ssl_ca',
        'passdb/args/director_tag',
        'director_username_hash',
        'auth_master_user_separator',
      ]),
    );
    expect(names(findings.ignoredList)).toEqual(
      expect.arrayContaining(['base_dir', 'service/imap-login/executable', 'protocol/imap/mail_plugins']),
    );
  });

  it('asks for this node address when the configuration cannot tell, and takes --self', () => {
    const text = 'director_servers = 10.0.0.5 10.0.0.6\ndirector_mail_servers = 10.0.0.21\nprotocols = imap\n';
    const without = importDovecot(parseDovecotConf(text));
    expect(without.config).not.toHaveProperty('director_ring_address');
    expect(without.findings.attentionList.map((f) => f.setting)).toContain('director_ring_address');
    expect(without.config.listeners).toEqual([{ protocol: 'imap', address: '0.0.0.0', port: 143 }]);
    const withSelf = importDovecot(parseDovecotConf(text), { self: '10.0.0.6' });
    expect(withSelf.config.director_ring_address).toBe('10.0.0.6');
    // of several listen addresses, the one that is a ring member
    const listen = importDovecot(parseDovecotConf(`${text}listen = 127.0.0.1, 10.0.0.6\n`));
    expect(listen.config.director_ring_address).toBe('10.0.0.6');
  });

  it('drops TLS listeners when ssl = no, and reads <file values through the injected reader', () => {
    const text = 'ssl = no\nprotocols = imap\ndirector_mail_servers = </etc/backends\n';
    const r = importDovecot(parseDovecotConf(text), {
      readFile: (p) => (p === '/etc/backends' ? '10.9.0.1\n' : undefined),
    });
    expect(r.config.director_mail_servers).toBe('10.9.0.1');
    expect(r.config.listeners).toEqual([{ protocol: 'imap', address: '0.0.0.0', port: 143 }]);
    expect(r.findings.attentionList.map((f) => f.setting)).toContain('service/imap-login/inet_listener/imaps');
  });
});

describe('usheradm config import-dovecot', () => {
  it('writes the JSON and lists what did not carry over on stderr', async () => {
    const file = join(dir, 'doveconf-n.txt');
    writeFileSync(file, DOVECONF_N);
    const out = join(dir, 'usherd.json');
    const o = capture();
    expect(await run(['config', 'import-dovecot', file, '--out', out], o)).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(json.director_servers).toBe('10.0.0.5 10.0.0.6 10.0.0.7:9999');
    const err = o.stderr.join('\n');
    expect(err).toMatch(/imported .* \(Dovecot 2\.3\.19\.1\): 2 director_mail_servers entries, ring of 3, 5 listeners/);
    expect(err).toMatch(/^ {2}director_flush_socket \(line 5\): /m);
    expect(err).toMatch(/^ {2}x_site_setting \(line \d+\): unknown/m);
    expect(err).toMatch(/^ {2}ssl_key \(line \d+\): hidden by doveconf -n/m);
  });

  it('fails clearly on a missing file or text it cannot parse', async () => {
    const o = capture();
    expect(await run(['config', 'import-dovecot', join(dir, 'none.conf')], o)).toBe(68);
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'protocols = imap\nthis is not dovecot\n');
    expect(await run(['config', 'import-dovecot', bad], o)).toBe(65);
    expect(o.stderr.join('\n')).toContain('bad.conf:2: cannot parse');
    expect(await run(['config', 'import-dovecot'], o)).toBe(64);
  });

  it("imports Debian's real doveconf -n output of the 10-director.conf example", async () => {
    const example = readFileSync('/usr/share/dovecot/conf.d/10-director.conf', 'utf8')
      .replace('#director_servers = ', 'director_servers = 10.0.0.5 10.0.0.6')
      .replace('#director_mail_servers = ', 'director_mail_servers = 10.0.0.21 10.0.0.22')
      .replace(/#port = *$/m, 'port = 9090')
      .replace('#executable = imap-login director', 'executable = imap-login director');
    const conf = join(dir, 'dovecot.conf');
    writeFileSync(
      conf,
      `base_dir = ${dir}/run\nprotocols = imap\nlisten = 10.0.0.6\nssl = no\n!include ${join(dir, '10-director.conf')}\n`,
    );
    writeFileSync(join(dir, '10-director.conf'), example);
    const doveconf = execFileSync('doveconf', ['-n', '-c', conf], { encoding: 'utf8' });
    writeFileSync(join(dir, 'real-n.txt'), doveconf);
    const o = capture();
    expect(await run(['config', 'import-dovecot', join(dir, 'real-n.txt')], o)).toBe(0);
    expect(JSON.parse(o.stdout.join('\n'))).toEqual({
      director_servers: '10.0.0.5 10.0.0.6',
      director_ring_address: '10.0.0.6',
      director_ring_port: 9090,
      director_mail_servers: '10.0.0.21 10.0.0.22',
      listeners: [{ protocol: 'imap', address: '10.0.0.6', port: 143 }],
    });
    expect(o.stderr.join('\n')).toContain('service/imap-login/executable');
  });
});
