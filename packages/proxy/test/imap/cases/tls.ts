import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_IPS, type ImapFixture, PROXY_IP } from '../helpers/cluster.js';
import { imapClient } from '../helpers/imap-client.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy-server.js';
import { eventually, RawClient } from '../helpers/raw-client.js';
import { TestRouter } from '../helpers/router.js';

const UNTRUSTED = 10144;
const IMPLICIT = 10993;
const BACKEND_STARTTLS = 10145;
const BACKEND_IMPLICIT = 10146;

/** The first line an implicit-TLS listener sends, with the certificate verified against the test CA. */
function tlsGreeting(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: PROXY_IP, port, ca, servername: 'localhost' });
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      data += d;
      if (data.includes('\r\n')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', reject);
  });
}

/** The backend's "Login:" log line for a proxied session (found by the session id Usher sent in ID). */
async function backendLoginLine(f: () => ImapFixture, backend: string, sessionId: string): Promise<string> {
  let line: string | undefined;
  await eventually(async () => {
    const log = await f().cluster.readLog(backend);
    line = log.split('\n').find((l) => l.includes('Login: ') && l.includes(`session=<${sessionId}>`));
    return line !== undefined;
  });
  return line as string;
}

export function tlsCases(f: () => ImapFixture): void {
  describe('TLS on both sides', () => {
    const proxies: TestProxy[] = [];
    let router: TestRouter;
    let untrusted: TestProxy;
    let implicit: TestProxy;
    let backendStarttls: TestProxy;
    let backendImplicit: TestProxy;

    beforeAll(async () => {
      router = new TestRouter(BACKEND_IPS);
      const { certs } = f();
      const backendTls = { ca: certs.ca, servername: 'localhost', verify: true };
      untrusted = await startTestProxy({ port: UNTRUSTED, router, certs, trusted: false });
      implicit = await startTestProxy({ port: IMPLICIT, router, certs, trusted: false, implicitTls: true });
      backendStarttls = await startTestProxy({
        port: BACKEND_STARTTLS,
        router,
        certs,
        trusted: true,
        backendTls: { mode: 'starttls', ...backendTls },
      });
      backendImplicit = await startTestProxy({
        port: BACKEND_IMPLICIT,
        router,
        certs,
        trusted: true,
        backendTls: { mode: 'implicit', ...backendTls },
        backendPorts: { imap: 993 },
      });
      proxies.push(untrusted, implicit, backendStarttls, backendImplicit);
    });
    afterAll(async () => {
      await Promise.all(proxies.map((p) => p.close()));
    });

    it('refuses plaintext logins on an untrusted plaintext connection (LOGINDISABLED, PRIVACYREQUIRED)', async () => {
      const c = await RawClient.connect(UNTRUSTED);
      expect(c.transcript).toMatch(/^\* OK \[CAPABILITY [^\]]* STARTTLS LOGINDISABLED\] Usher ready\.\r\n$/);
      expect(c.transcript).not.toContain('AUTH=');
      const refusal =
        'NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n';
      c.send('a LOGIN demo0001 demo\r\n');
      await c.expect(new RegExp(`^a ${refusal.replace(/[[\]().]/g, '\\$&')}`, 'm'));
      c.send(`b AUTHENTICATE PLAIN ${Buffer.from('\0demo0001\0demo').toString('base64')}\r\n`);
      await c.expect(new RegExp(`^b ${refusal.replace(/[[\]().]/g, '\\$&')}`, 'm'));
      expect(untrusted.ctx.registry.size).toBe(0);
      c.destroy();

      const client = imapClient(UNTRUSTED, 'demo0001', 'demo');
      client.on('error', () => {});
      await expect(client.connect()).rejects.toThrow();
      client.close();
    });

    it('logs in after STARTTLS on the same untrusted listener', async () => {
      const client = imapClient(UNTRUSTED, 'demo0002', 'demo', {
        doSTARTTLS: true,
        tls: { ca: f().certs.ca, servername: 'localhost' },
      });
      await client.connect();
      try {
        expect(client.secureConnection).toBe(true);
        expect(client.serverInfo?.['x-backend']).toBe(router.backendOf('demo0002'));
      } finally {
        await client.logout();
      }
    });

    it('serves implicit TLS (imaps) with the plaintext mechanisms offered', async () => {
      const greeting = await tlsGreeting(IMPLICIT, f().certs.ca);
      expect(greeting).toMatch(/AUTH=PLAIN/);
      expect(greeting).not.toMatch(/STARTTLS|LOGINDISABLED/);
      const client = imapClient(IMPLICIT, 'demo0003', 'demo', {
        secure: true,
        tls: { ca: f().certs.ca, servername: 'localhost' },
      });
      await client.connect();
      try {
        expect(client.serverInfo?.['x-backend']).toBe(router.backendOf('demo0003'));
        expect(implicit.ctx.registry.list()[0]?.username).toBe('demo0003');
      } finally {
        await client.logout();
      }
    });

    it.each([
      ['STARTTLS', BACKEND_STARTTLS, 'demo0004'],
      ['implicit TLS', BACKEND_IMPLICIT, 'demo0005'],
    ])('talks to the backend over %s (certificate verified)', async (_, port, user) => {
      const proxy = port === BACKEND_STARTTLS ? backendStarttls : backendImplicit;
      const client = imapClient(port, user, 'demo');
      await client.connect();
      try {
        expect(client.serverInfo?.['x-backend']).toBe(router.backendOf(user));
        const session = proxy.ctx.registry.list().find((s) => s.username === user);
        const line = await backendLoginLine(f, router.backendOf(user), session?.id ?? 'none');
        // Dovecot marks logins that came over TLS; the forwarded client address is still the real one
        expect(line).toMatch(/, TLS, /);
        expect(line).toContain('rip=127.0.0.1');
      } finally {
        await client.logout();
      }
    });
  });
}
