import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DovecotCluster, startDovecotBackends } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendProber, type ProbeOptions } from '../src/index.js';

// This file owns 127.0.12.1 on ports 12xxx (the server's health e2e uses 127.0.12.1-3 on the default ports).
const IP = '127.0.12.1';
const PORTS = { imap: 12143, pop3: 12110, lmtp: 12024, sieve: 12419, imaps: 12993, pop3s: 12995 };
const FAKE_PORT = 12199;
const exec = promisify(execFile);

let cluster: DovecotCluster;
let certs: string;
const root = mkdtempSync(join(tmpdir(), 'usher-health-probes-'));
chmodSync(root, 0o755);

function prober(over: Partial<ProbeOptions> = {}): BackendProber {
  return new BackendProber({
    protocols: ['imap', 'pop3', 'lmtp'],
    ports: { imap: PORTS.imap, pop3: PORTS.pop3, lmtp: PORTS.lmtp },
    timeoutMs: 3000,
    heloName: 'usher-test',
    ...over,
  });
}

/** A listener that greets with `banner` (or never, when undefined) and then says nothing. */
async function fakeServer(banner: string | undefined): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => {});
    if (banner !== undefined) s.write(`${banner}\r\n`);
  });
  await new Promise<void>((resolve) => server.listen({ host: IP, port: FAKE_PORT }, resolve));
  return server;
}

beforeAll(async () => {
  certs = join(root, 'certs');
  await exec('bash', [fileURLToPath(new URL('../../../scripts/make-test-certs.sh', import.meta.url)), certs]);
  cluster = await startDovecotBackends({
    root: join(root, 'backends'),
    ips: [IP],
    users: 3,
    ports: PORTS,
    tls: { cert: join(certs, 'server.pem'), key: join(certs, 'server.key') },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('backend probes against a real Dovecot', () => {
  it('pass on the greetings of IMAP, POP3 and LMTP', async () => {
    expect(await prober().probe(IP)).toEqual({ ok: true, detail: '' });
  });

  it('pass a login with the probe account and an LMTP RCPT to the probe recipient', async () => {
    const r = await prober({ login: { user: 'demo0001', password: 'demo' }, lmtpRcpt: 'demo0002@demo.test' }).probe(IP);
    expect(r).toEqual({ ok: true, detail: '' });
    // nothing was delivered and no session is left behind
    expect(await cluster.who(IP)).toEqual([]);
  });

  it('fail a wrong password, naming the protocol and the step', async () => {
    const r = await prober({ protocols: ['imap', 'pop3'], login: { user: 'demo0001', password: 'wrong' } }).probe(IP);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^imap: LOGIN: p2 NO .*; pop3: PASS: -ERR/);
    expect(r.detail).not.toContain('wrong');
  });

  it('fail an LMTP recipient the backend does not know', async () => {
    const r = await prober({ protocols: ['lmtp'], lmtpRcpt: 'nobody@demo.test' }).probe(IP);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^lmtp: RCPT TO: 550 /);
  });

  it('log in over STARTTLS when the backends are reached that way', async () => {
    const tls = { mode: 'starttls' as const, verify: false };
    const login = { user: 'demo0003', password: 'demo' };
    expect(await prober({ tls, login }).probe(IP)).toEqual({ ok: true, detail: '' });
  });

  it('speak implicit TLS, and verify the certificate unless told not to', async () => {
    const ports = { imap: PORTS.imaps, pop3: PORTS.pop3s, lmtp: PORTS.lmtp };
    const implicit = { protocols: ['imap', 'pop3'] as const, ports, login: { user: 'demo0001', password: 'demo' } };
    expect(await prober({ ...implicit, tls: { mode: 'implicit', verify: false } }).probe(IP)).toEqual({
      ok: true,
      detail: '',
    });
    // the test certificate does not name this address: verification must refuse it
    const ca = readFileSync(join(certs, 'ca.pem'));
    const strict = await prober({ ...implicit, tls: { mode: 'implicit', verify: true, ca } }).probe(IP);
    expect(strict.ok).toBe(false);
    expect(strict.detail).toMatch(/^imap: connect: .*(IP|altnames)/);
  });

  it('fail fast on a stopped backend, and pass again once it is back', async () => {
    await cluster.stopBackend(IP);
    try {
      const t0 = Date.now();
      const r = await prober().probe(IP);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(r.ok).toBe(false);
      expect(r.detail).toBe(
        'imap: connect: connect ECONNREFUSED 127.0.12.1:12143; pop3: connect: connect ECONNREFUSED 127.0.12.1:12110; ' +
          'lmtp: connect: connect ECONNREFUSED 127.0.12.1:12024',
      );
    } finally {
      await cluster.startBackend(IP);
    }
    expect((await prober().probe(IP)).ok).toBe(true);
  });
});

describe('probes against misbehaving listeners', () => {
  it('fail a backend that accepts but never greets, within the timeout', async () => {
    const server = await fakeServer(undefined);
    try {
      const t0 = Date.now();
      const r = await prober({ ports: { imap: FAKE_PORT, pop3: FAKE_PORT, lmtp: FAKE_PORT }, timeoutMs: 300 }).probe(
        IP,
      );
      const took = Date.now() - t0;
      expect(r.ok).toBe(false);
      expect(r.detail).toBe('imap: timed out; pop3: timed out; lmtp: timed out');
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(1000);
    } finally {
      server.close();
    }
  });

  it.each([
    ['imap', '* BYE Server shutting down', 'imap: banner: * BYE Server shutting down'],
    ['pop3', '-ERR [SYS/TEMP] busy', 'pop3: banner: -ERR [SYS/TEMP] busy'],
    ['lmtp', '421 4.3.2 shutting down', 'lmtp: banner: 421 4.3.2 shutting down'],
  ] as const)('fail a %s greeting that refuses service', async (protocol, banner, detail) => {
    const server = await fakeServer(banner);
    try {
      const r = await prober({
        protocols: [protocol],
        ports: { imap: FAKE_PORT, pop3: FAKE_PORT, lmtp: FAKE_PORT },
      }).probe(IP);
      expect(r).toEqual({ ok: false, detail });
    } finally {
      server.close();
    }
  });
});
