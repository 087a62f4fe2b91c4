import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { type DovecotCluster, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);

// This file owns 127.0.7.1-3 (backends) and 127.0.17.1 (usherd); other test files use other addresses.
const BACKENDS = ['127.0.7.1', '127.0.7.2', '127.0.7.3'];
const NODE = '127.0.17.1';
const PORTS = { imap: 11143, pop3: 11110, lmtp: 11024, managesieve: 14190 };
const IMAPS_PORT = 11993;

let cluster: DovecotCluster;
let usherd: UsherdProcess;
const root = mkdtempSync(join(tmpdir(), 'usher-e2e-'));
chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories

/** Where Dovecot's director would put each user, computed independently of the running node. */
function expectedBackend(user: string): string {
  const table = new HostTable();
  for (const ip of BACKENDS) table.set({ ip });
  return new Placement(table).lookup(new UserHasher('%Ln').hash(user))?.ip.text as string;
}

async function imapBackendOf(user: string): Promise<string> {
  const client = new ImapFlow({
    host: NODE,
    port: PORTS.imap,
    secure: false,
    // plaintext on purpose: the client is in login_trusted_networks
    doSTARTTLS: false,
    auth: { user, pass: 'demo' },
    logger: false,
  });
  await client.connect();
  // imapflow asks ID after login, so the answer comes from the backend, which names itself
  const backend = String(client.serverInfo?.['x-backend'] ?? '');
  await client.logout();
  return backend;
}

beforeAll(async () => {
  const certs = join(root, 'certs');
  await exec('bash', [fileURLToPath(new URL('../../../scripts/make-test-certs.sh', import.meta.url)), certs]);
  cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: BACKENDS, users: 40 });
  usherd = await startUsherd({
    root: join(root, 'nodes'),
    name: 'e2e-1',
    config: {
      director_mail_servers: BACKENDS.join(' '),
      director_username_hash: '%Ln',
      login_trusted_networks: '127.0.0.0/8',
      auth_failure_delay: '100 ms',
      shutdown_timeout: '1 secs',
      ssl_cert: join(certs, 'server.pem'),
      ssl_key: join(certs, 'server.key'),
      listeners: [
        ...Object.entries(PORTS).map(([protocol, port]) => ({ protocol, address: NODE, port })),
        { protocol: 'imap', address: NODE, port: IMAPS_PORT, ssl: true },
      ],
    },
  });
}, 60_000);

afterAll(async () => {
  await usherd?.stop('SIGKILL');
  await cluster?.stop();
});

describe('usherd end to end (real process, real Dovecot backends)', () => {
  it('puts every user on the backend Dovecot director would choose', async () => {
    const users = cluster.users.slice(0, 12);
    const actual = await Promise.all(users.map(imapBackendOf));
    expect(actual).toEqual(users.map(expectedBackend));
    expect(new Set(actual).size).toBe(3);
  });

  it('delivers one LMTP transaction to users on three backends, each copy once', async () => {
    const byBackend = new Map<string, string>();
    for (const u of cluster.users) if (!byBackend.has(expectedBackend(u))) byBackend.set(expectedBackend(u), u);
    const rcpts = [...byBackend.values()];
    expect(rcpts).toHaveLength(3);
    const { stdout } = await exec('swaks', [
      '--protocol',
      'LMTP',
      '--server',
      `${NODE}:${PORTS.lmtp}`,
      '--from',
      'e2e@example.org',
      '--to',
      rcpts.map((u) => `${u}@demo.test`).join(','),
      '--header',
      'Subject: e2e-three-backends',
    ]);
    expect(stdout.match(/<- +250 2\.0\.0 <[^>]+> .*Saved/g) ?? [], stdout).toHaveLength(3);
    for (const [backend, user] of byBackend) {
      const found = await cluster.doveadm(backend, [
        'search',
        '-u',
        user,
        'mailbox',
        'INBOX',
        'header',
        'Subject',
        'e2e-three-backends',
      ]);
      expect(found.trim().split('\n').filter(Boolean)).toHaveLength(1);
      for (const other of BACKENDS.filter((b) => b !== backend)) {
        const none = await cluster.doveadm(other, [
          'search',
          '-u',
          user,
          'mailbox',
          'INBOX',
          'header',
          'Subject',
          'e2e-three-backends',
        ]);
        expect(none.trim()).toBe('');
      }
    }
  });

  it('logs in through POP3 with curl', async () => {
    // curl exits non-zero (and exec rejects) unless the login and LIST succeeded
    const { stdout } = await exec('curl', [
      '-sS',
      '--max-time',
      '10',
      `pop3://${NODE}:${PORTS.pop3}/`,
      '--user',
      'demo0005:demo',
    ]);
    expect(stdout).toMatch(/^[\d \r\n]*$/);
  });

  it('serves implicit TLS', async () => {
    const client = new ImapFlow({
      host: NODE,
      port: IMAPS_PORT,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'demo0006', pass: 'demo' },
      logger: false,
    });
    await client.connect();
    expect(client.serverInfo?.['x-backend']).toBe(expectedBackend('demo0006'));
    await client.logout();
  });

  it('works with a real ManageSieve client (sieve-connect, STARTTLS)', async () => {
    const script = join(root, 'filter.sieve');
    writeFileSync(script, 'require "fileinto";\nkeep;\n');
    const sieve = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          'sieve-connect',
          [
            '--server',
            NODE,
            '--port',
            String(PORTS.managesieve),
            '--user',
            'demo0008',
            '--passwordfd',
            '3',
            '--notlsverify',
            ...args,
          ],
          { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
        );
        (child.stdio[3] as Writable).end('demo\n');
        let out = '';
        child.stdout?.on('data', (c) => (out += c));
        child.stderr?.on('data', (c) => (out += c));
        child.on('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`sieve-connect exited ${code}: ${out}`)),
        );
      });
    await sieve(['--upload', '--localsieve', script, '--remotesieve', 'e2e-filter']);
    expect(await sieve(['--list'])).toContain('"e2e-filter"');
  });

  it('stops gracefully: open sessions get the goodbye, the process exits 0', async () => {
    const sock = connect({ host: NODE, port: PORTS.imap });
    let received = '';
    sock.on('data', (c) => {
      received += c.toString();
    });
    await new Promise((r) => sock.once('data', r));
    sock.write('a LOGIN demo0007 demo\r\n');
    await expect.poll(() => received, { timeout: 10_000 }).toMatch(/a OK/);
    const code = await usherd.stop('SIGTERM');
    expect(code).toBe(0);
    expect(received).toContain('* BYE Server shutting down.');
  });
});
