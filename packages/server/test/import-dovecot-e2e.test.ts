import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HostTable, Placement, parseMailServers, UserHasher } from '@usher/core';
import {
  type DovecotCluster,
  startDovecotBackends,
  startUsherd,
  USHERD_MAIN,
  type UsherdProcess,
} from '@usher/testkit';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * From a real Dovecot director configuration to a running usherd: Debian's 10-director.conf
 * example with its values filled in, run through Debian's `doveconf -n`, imported with usheradm,
 * started as a ring of one in front of real Dovecot backends, then logged into and scraped.
 */
const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const USHERADM = join(REPO, 'packages/cli/dist/main.js');

// This file owns 127.0.31.1 (usherd, its ring port 9091 and metrics 9100) and 127.0.32.1-3 (backends).
const NODE = '127.0.31.1';
const BACKENDS = ['127.0.32.1', '127.0.32.2', '127.0.32.3'];
const MAIL_SERVERS = `${BACKENDS[0]} ${BACKENDS[1]} ${BACKENDS[2]}@blue`;
const METRICS = `http://${NODE}:9100`;
// distinctive, so a search of the log cannot hit anything else
const PASSWORD = 'Pw-7f3a9c-never-logged';
const WRONG = 'Wrong-9d8e7f-never-logged';

const root = mkdtempSync(join(tmpdir(), 'usher-import-e2e-'));
chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
let cluster: DovecotCluster;
let usherd: UsherdProcess;
let imported: Record<string, unknown>;
let importStderr: string;
let doveconfN: string;

function directorConf(): string {
  // the example Debian ships, with the values an operator fills in
  return readFileSync('/usr/share/dovecot/conf.d/10-director.conf', 'utf8')
    .replace('#director_servers = ', `director_servers = ${NODE}`)
    .replace('#director_mail_servers = ', `director_mail_servers = ${MAIL_SERVERS}`)
    .replace('#director_user_expire = 15 min', 'director_user_expire = 10 min')
    .replace('#director_username_hash = %Lu', 'director_username_hash = %Ln')
    .replaceAll(/#mode = (\d+)/g, 'mode = $1')
    .replace(/#port = *$/m, 'port = 9091')
    .replaceAll(/#executable = /g, 'executable = ')
    .replace('#auth_socket_path = director-userdb', 'auth_socket_path = director-userdb');
}

function dovecotConf(certs: string): string {
  return `base_dir = ${root}/dovecot-run
instance_name = usher-import-e2e
protocols = imap pop3 lmtp sieve
listen = ${NODE}
ssl_cert = <${certs}/server.pem
ssl_key = <${certs}/server.key
login_trusted_networks = 127.0.0.0/8
haproxy_trusted_networks = 127.0.0.0/8
auth_failure_delay = 0
director_max_parallel_moves = 50
director_user_kick_delay = 1 secs
director_flush_socket = ${root}/flush
lmtp_proxy = yes
passdb {
  driver = static
  args = proxy=y nopassword=y
}
!include ${root}/10-director.conf
service imap-login {
  inet_listener imap {
    port = 1143
  }
  inet_listener imaps {
    port = 1993
  }
  inet_listener imap_haproxy {
    port = 10143
    haproxy = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 1110
  }
  inet_listener pop3s {
    port = 0
  }
}
service managesieve-login {
  inet_listener sieve {
    port = 14190
  }
}
service lmtp {
  inet_listener lmtp {
    port = 24
  }
}
`;
}

/** Where Dovecot's director puts the user, from the same host list, computed independently. */
function expectedBackend(user: string): string {
  const table = new HostTable();
  for (const h of parseMailServers(MAIL_SERVERS)) if (h.kind === 'ip') table.set({ ip: h.ip, tag: h.tag });
  return new Placement(table).lookup(new UserHasher('%Ln').hash(user))?.ip.text as string;
}

async function scrape(): Promise<string> {
  return (await fetch(`${METRICS}/metrics`)).text();
}

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  const certs = join(root, 'certs');
  await exec('bash', [join(REPO, 'scripts/make-test-certs.sh'), certs]);
  await exec('bash', [join(REPO, 'deploy/certs/make-ring-certs.sh'), join(root, 'ring'), NODE]);
  writeFileSync(join(root, '10-director.conf'), directorConf());
  writeFileSync(join(root, 'dovecot.conf'), dovecotConf(certs));
  mkdirSync(join(root, 'dovecot-run'), { recursive: true });
  doveconfN = (await exec('doveconf', ['-n', '-c', join(root, 'dovecot.conf')])).stdout;
  writeFileSync(join(root, 'doveconf-n.txt'), doveconfN);
  const out = join(root, 'imported.json');
  importStderr = (
    await exec(process.execPath, [USHERADM, 'config', 'import-dovecot', join(root, 'doveconf-n.txt'), '--out', out])
  ).stderr;
  imported = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: BACKENDS, users: 16, password: PASSWORD });
}, 90_000);

afterAll(async () => {
  await usherd?.stop('SIGKILL');
  await cluster?.stop();
});

describe('usheradm config import-dovecot on real doveconf -n output', () => {
  it('carries the ring, the backends, the settings and the listeners', () => {
    expect(doveconfN).toMatch(/^# 2\.3\./);
    expect(imported).toMatchObject({
      director_servers: NODE,
      director_ring_address: NODE,
      director_ring_port: 9091,
      director_mail_servers: MAIL_SERVERS,
      director_user_expire: '10 mins',
      director_username_hash: '%Ln',
      director_max_parallel_moves: 50,
      director_user_kick_delay: '1 secs',
      login_trusted_networks: '127.0.0.0/8',
      haproxy_trusted_networks: '127.0.0.0/8',
      auth_failure_delay: '0',
      ssl_cert: join(root, 'certs/server.pem'),
    });
    expect(imported.listeners).toEqual([
      { protocol: 'imap', address: NODE, port: 1143 },
      { protocol: 'imap', address: NODE, port: 1993, ssl: true },
      { protocol: 'imap', address: NODE, port: 10143, haproxy: true },
      { protocol: 'pop3', address: NODE, port: 1110 },
      { protocol: 'lmtp', address: NODE, port: 24 },
      { protocol: 'managesieve', address: NODE, port: 14190 },
    ]);
  });

  it('lists on stderr, by name, what it could not carry over', () => {
    expect(importStderr).toMatch(/^ {2}ssl_key \(line \d+\): hidden by doveconf -n/m);
    expect(importStderr).toMatch(/^ {2}director_flush_socket \(line \d+\): /m);
    expect(importStderr).toMatch(/^ {2}director_ring_ssl_ca: /m);
    expect(importStderr).toMatch(/ignored .*\n.*service\/director\/unix_listener login\/director/);
  });
});

describe('usherd from the imported configuration', () => {
  beforeAll(async () => {
    // what the operator adds, as the importer told: the hidden key, the ring certificates; plus metrics and JSON logs
    const config = {
      ...imported,
      ssl_key: join(root, 'certs/server.key'),
      director_ring_ssl_ca: join(root, 'ring/ca.pem'),
      director_ring_ssl_cert: join(root, `ring/${NODE}.pem`),
      director_ring_ssl_key: join(root, `ring/${NODE}.key`),
      metrics_listen: `${NODE}:9100`,
      // its own socket: the default path belongs to whichever node binds it first
      director_admin_socket: join(root, 'director-admin'),
      log_format: 'json',
      log_level: 'debug',
      shutdown_timeout: '1 secs',
    };
    const path = join(root, 'usherd.json');
    writeFileSync(path, JSON.stringify(config, null, 2));
    const check = await exec(process.execPath, [USHERD_MAIN, '--check-config', '--config', path]);
    expect(check.stdout).toBe('configuration OK\n');
    usherd = await startUsherd({ root: join(root, 'node'), name: 'imported', config });
  }, 30_000);

  it('passes --check-config, starts as a ring of one with those backends and listeners, and is ready', async () => {
    expect(usherd.addresses.map((a) => `${a.protocol}:${a.port}`)).toEqual(
      (imported.listeners as Array<{ protocol: string; port: number }>).map((l) => `${l.protocol}:${l.port}`),
    );
    await expect.poll(async () => (await fetch(`${METRICS}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    expect((await fetch(`${METRICS}/healthz`)).status).toBe(200);
    const body = await scrape();
    expect(value(body, 'usher_ring_ready')).toBe(1);
    expect(value(body, `usher_backend_vhosts{backend="${BACKENDS[0]}",tag=""}`)).toBe(100);
    expect(value(body, `usher_backend_vhosts{backend="${BACKENDS[1]}",tag=""}`)).toBe(100);
    expect(value(body, `usher_backend_vhosts{backend="${BACKENDS[2]}",tag="blue"}`)).toBe(100);
    expect(body).toContain(`usher_backend_health{backend="${BACKENDS[0]}",verdict="ok"}`);
    // and as doveadm would list them, over the node's director-admin socket
    const { stdout } = await exec(process.execPath, [
      USHERADM,
      'director',
      'status',
      '-a',
      join(root, 'director-admin'),
    ]);
    for (const b of BACKENDS) expect(stdout).toContain(b);
    expect(stdout).toMatch(new RegExp(`${BACKENDS[2]?.replaceAll('.', '\\.')}\\s+blue\\s+100\\s+up`));
    for (const setting of ['ssl_cert', 'director_ring_ssl_cert'])
      expect(value(body, `usher_certificate_expiry_timestamp_seconds{setting="${setting}"}`)).toBeGreaterThan(
        Date.now() / 1000,
      );
  });

  it('puts users where the director would, then counts sessions, logins, routing and users', async () => {
    const users = cluster.users.slice(0, 6);
    const open: ImapFlow[] = [];
    for (const user of users) {
      const client = new ImapFlow({
        host: NODE,
        port: 1143,
        secure: false,
        doSTARTTLS: false,
        auth: { user, pass: PASSWORD },
        logger: false,
      });
      await client.connect();
      expect(client.serverInfo?.['x-backend'], user).toBe(expectedBackend(user));
      open.push(client);
    }
    // a wrong password, through the same proxy
    const failed = await new Promise<string>((resolve) => {
      const sock = connect({ host: NODE, port: 1143 });
      let got = '';
      let sent = false;
      sock.on('data', (c) => {
        got += c.toString();
        if (got.startsWith('* OK') && !sent) {
          sent = true;
          sock.write(`a LOGIN ${users[0]} ${WRONG}\r\n`);
        }
        if (/\r\na (OK|NO|BAD)/.test(got) && !sock.writableEnded) {
          sock.end('b LOGOUT\r\n');
          resolve(got);
        }
      });
      sock.on('error', () => resolve(got));
    });
    expect(failed).toMatch(/a NO/);
    await exec('curl', ['-sS', '--max-time', '10', `pop3://${NODE}:1110/`, '--user', `${users[1]}:${PASSWORD}`]);

    const body = await scrape();
    expect(value(body, 'usher_logins_total{protocol="imap",result="ok"}')).toBe(users.length);
    expect(value(body, 'usher_logins_total{protocol="imap",result="failed"}')).toBe(1);
    expect(value(body, 'usher_logins_total{protocol="pop3",result="ok"}')).toBe(1);
    expect(value(body, 'usher_routing_duration_seconds_count{protocol="imap",result="ok"}')).toBe(users.length + 1);
    const perBackend = new Map<string, number>();
    for (const u of users) perBackend.set(expectedBackend(u), (perBackend.get(expectedBackend(u)) ?? 0) + 1);
    for (const [backend, n] of perBackend) {
      expect(value(body, `usher_sessions{protocol="imap",backend="${backend}"}`)).toBe(n);
      expect(value(body, `usher_users{backend="${backend}",tag=""}`)).toBeGreaterThanOrEqual(1);
    }
    for (const c of open) await c.logout();
    await expect
      .poll(async () => (await scrape()).includes('usher_sessions{protocol="imap"'), { timeout: 5000 })
      .toBe(false);
  });

  it('logs JSON with a session id on every session line and never a password', async () => {
    await expect.poll(() => readFileSync(usherd.logPath, 'utf8'), { timeout: 5000 }).toContain('session closed');
    const text = readFileSync(usherd.logPath, 'utf8');
    for (const secret of [PASSWORD, WRONG, Buffer.from(PASSWORD).toString('base64')])
      expect(text).not.toContain(secret);
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const sessionLines = lines.filter((l) => 'userHash' in l || /login|proxying|session/.test(String(l.message)));
    expect(sessionLines.length).toBeGreaterThan(10);
    for (const l of sessionLines) expect(l.session, JSON.stringify(l)).toMatch(/^\S+$/);
    expect(lines.some((l) => l.message === 'imap login' && typeof l.session === 'string')).toBe(true);
  });
});
