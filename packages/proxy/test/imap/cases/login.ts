import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_IPS, DEAD_BACKEND, type ImapFixture, PROXY_IP } from '../helpers/cluster.js';
import { imapClient } from '../helpers/imap-client.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy-server.js';
import { eventually, RawClient } from '../helpers/raw-client.js';
import { TestRouter } from '../helpers/router.js';

const run = promisify(execFile);
const PORT = 10143;

export function loginCases(f: () => ImapFixture): void {
  describe('logins through the proxy (trusted plaintext listener)', () => {
    let proxy: TestProxy;
    let router: TestRouter;

    beforeAll(async () => {
      router = new TestRouter(BACKEND_IPS, { ghost: DEAD_BACKEND });
      proxy = await startTestProxy({
        port: PORT,
        router,
        certs: f().certs,
        trusted: true,
        limits: { maxAuthAttempts: 3 },
      });
    });
    afterAll(async () => {
      await proxy.close();
    });

    it.each([
      ['LOGIN', ['demo0001', 'demo0002', 'demo0003', 'demo0004']],
      ['AUTH=PLAIN', ['demo0005', 'demo0006', 'demo0007', 'demo0008']],
      ['AUTH=LOGIN', ['demo0009', 'demo0010']],
    ])('%s lands on the routed backend, which ID after login names', async (loginMethod, users) => {
      for (const user of users) {
        const client = imapClient(PORT, user, 'demo', { auth: { user, pass: 'demo', loginMethod } });
        await client.connect();
        try {
          expect(client.serverInfo?.['x-backend']).toBe(router.backendOf(user));
          const session = proxy.ctx.registry.list().find((s) => s.username === user);
          expect(session).toMatchObject({ protocol: 'imap', backend: router.backendOf(user) });
          const status = await client.status('INBOX', { messages: true });
          expect(status).toMatchObject({ messages: expect.any(Number) });
        } finally {
          await client.logout();
        }
      }
      await eventually(() => proxy.ctx.registry.size === 0, 5000, 'sessions unregistered');
    });

    it('spreads users over the backends (the routing is real)', () => {
      const used = new Set(
        Array.from({ length: 12 }, (_, i) => router.backendOf(`demo${String(i + 1).padStart(4, '0')}`)),
      );
      expect(used.size).toBeGreaterThan(1);
    });

    it('takes LOGIN arguments as synchronising literals, LITERAL+ literals and quoted strings', async () => {
      const sync = await RawClient.connect(PORT);
      sync.send('a LOGIN {8}\r\n');
      await sync.expect(/^\+ OK\r\n/m);
      sync.send('demo0011 {4}\r\n');
      await sync.expect(/^\+ OK\r\n/m);
      sync.send('demo\r\n');
      await sync.expect(/^a OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      sync.destroy();

      const plus = await RawClient.connect(PORT);
      plus.send('a LOGIN {8+}\r\ndemo0011 {4+}\r\ndemo\r\nb NOOP\r\n');
      await plus.expect(/^a OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      // the pipelined NOOP went to the backend (Dovecot's post-login wording has timings)
      await plus.expect(/^b OK NOOP completed \(/m);
      expect(plus.transcript).not.toContain('+ OK');
      plus.destroy();

      // tag "I" is also the tag of Usher's own ID to the backend; replies must still pair up
      const quoted = await RawClient.connect(PORT);
      quoted.send('I LOGIN "demo0011" "demo"\r\n');
      await quoted.expect(/^I OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      quoted.destroy();
    });

    it('answers a wrong password after the delay and lets the client retry on the same connection', async () => {
      const c = await RawClient.connect(PORT);
      const t0 = Date.now();
      c.send('a LOGIN demo0012 wrongpass-12\r\n');
      await c.expect(/^a NO \[AUTHENTICATIONFAILED\] Authentication failed\.\r\n/m);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(proxy.ctx.limits.authFailureDelayMs);
      c.send('b NOOP\r\nc LOGIN demo0012 demo\r\n');
      await c.expect(/^b OK NOOP completed\.\r\n/m);
      await c.expect(/^c OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      c.send('d SELECT INBOX\r\n');
      await c.expect(/^d OK \[READ-WRITE\]/m);
      c.send('e LOGOUT\r\n');
      await c.expect(/^\* BYE Logging out\r\n/m);
      await c.expectClosed();
      const logs = JSON.stringify(proxy.logs);
      expect(logs).not.toContain('wrongpass');
      expect(logs).not.toContain(Buffer.from('\0demo0012\0wrongpass-12').toString('base64'));
    });

    it('closes the connection after maxAuthAttempts failed logins', async () => {
      const c = await RawClient.connect(PORT);
      for (let i = 1; i <= 3; i++) {
        c.send(`a${i} LOGIN demo0012 wrong\r\n`);
        await c.expect(new RegExp(`^a${i} NO \\[AUTHENTICATIONFAILED\\]`, 'm'));
      }
      await c.expect(/^\* BYE Too many authentication failures\.\r\n/m);
      await c.expectClosed();
    });

    it('answers NO [UNAVAILABLE] when the backend is down and keeps the connection usable', async () => {
      const c = await RawClient.connect(PORT);
      c.send('a LOGIN ghost demo\r\n');
      await c.expect(/^a NO \[UNAVAILABLE\] Account is temporarily unavailable\.\r\n/m);
      c.send('b NOOP\r\n');
      await c.expect(/^b OK NOOP completed\.\r\n/m);
      c.send('c LOGIN demo0001 demo\r\n');
      await c.expect(/^c OK \[CAPABILITY/m);
      c.destroy();
      expect(proxy.logs).toContainEqual(
        expect.objectContaining({ level: 'error', fields: expect.objectContaining({ backend: DEAD_BACKEND }) }),
      );
    });

    it('routes a master-user login by the real user', async () => {
      const c = await RawClient.connect(PORT);
      c.send(`a LOGIN demo0003*${f().cluster.masterUser.name} ${f().cluster.masterUser.password}\r\n`);
      await c.expect(/^a OK \[CAPABILITY/m);
      expect(router.calls.at(-1)).toBe('demo0003');
      expect(proxy.ctx.registry.list().find((s) => s.username === 'demo0003')?.backend).toBe(
        router.backendOf('demo0003'),
      );
      c.send('b ID NIL\r\n');
      const id = await c.expect(/^\* ID .*\r\n/m);
      expect(id).toContain(`"x-backend" "${router.backendOf('demo0003')}"`);
      c.destroy();
    });

    it('tells the backend the real client address (Dovecot logs rip= and the session id)', async () => {
      const user = 'demo0004';
      const backend = router.backendOf(user);
      const c = await RawClient.connect(PORT, { localAddress: '127.0.13.50' });
      c.send(`a LOGIN ${user} demo\r\n`);
      await c.expect(/^a OK \[CAPABILITY/m);
      const session = proxy.ctx.registry.list().find((s) => s.username === user);
      expect(session?.clientIp).toBe('127.0.13.50');
      await eventually(async () =>
        (await f().cluster.who(backend)).some((w) => w.user === user && w.ip === '127.0.13.50'),
      );
      let log = '';
      await eventually(async () => {
        log = await f().cluster.readLog(backend);
        return log.includes(`session=<${session?.id}>`);
      });
      const line = log.split('\n').find((l) => l.includes('Login: ') && l.includes(`session=<${session?.id}>`));
      expect(line).toContain(`user=<${user}>`);
      expect(line).toContain('rip=127.0.13.50');
      expect(line).toContain(`lip=${PROXY_IP}`);
      c.destroy();
    });

    it('serves curl, a client that is not imapflow', async () => {
      const { stdout } = await run('curl', [
        '-s',
        '--max-time',
        '10',
        '--url',
        `imap://${PROXY_IP}:${PORT}/INBOX`,
        '--user',
        'demo0001:demo',
        '-X',
        'EXAMINE INBOX',
      ]);
      expect(stdout).toMatch(/^\* FLAGS /m);
      expect(stdout).toMatch(/^\* \d+ EXISTS/m);
    });
  });
}
