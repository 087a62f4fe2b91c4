import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_IPS, type ImapFixture, PROXY_IP } from '../helpers/cluster.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy-server.js';
import { eventually, RawClient } from '../helpers/raw-client.js';
import { TestRouter } from '../helpers/router.js';

const PORT = 10152;
const HUNG_PORT = 10153;
const HUNG_BACKEND = { ip: '127.0.3.1', port: 10159 };

/** A backend that greets, reads, and never answers a login. */
async function startHungBackend(): Promise<{ server: Server; sockets: Socket[]; received: () => string }> {
  const sockets: Socket[] = [];
  let received = '';
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.on('data', (d) => {
      received += d.toString('latin1');
    });
    s.write('* OK [CAPABILITY IMAP4rev1 SASL-IR ID AUTH=PLAIN] hung ready.\r\n');
  });
  await new Promise<void>((resolve) => server.listen({ host: HUNG_BACKEND.ip, port: HUNG_BACKEND.port }, resolve));
  return { server, sockets, received: () => received };
}

export function preAuthCases(f: () => ImapFixture): void {
  describe('pre-auth dialogue and its limits', () => {
    let proxy: TestProxy;
    let hungProxy: TestProxy;
    let hung: Awaited<ReturnType<typeof startHungBackend>>;

    beforeAll(async () => {
      proxy = await startTestProxy({
        port: PORT,
        router: new TestRouter(BACKEND_IPS),
        certs: f().certs,
        trusted: true,
        limits: { preAuthIdleTimeoutMs: 600, maxLineLength: 1024, maxPreAuthLiteral: 1000 },
      });
      hung = await startHungBackend();
      hungProxy = await startTestProxy({
        port: HUNG_PORT,
        router: new TestRouter([HUNG_BACKEND.ip]),
        certs: f().certs,
        trusted: true,
        backendPorts: { imap: HUNG_BACKEND.port },
        limits: { backendLoginTimeoutMs: 800 },
      });
    });
    afterAll(async () => {
      await proxy.close();
      await hungProxy.close();
      for (const s of hung.sockets) s.destroy();
      await new Promise((r) => hung.server.close(r));
    });

    it('greets like imap-login and answers CAPABILITY, NOOP, ID, ENABLE and LOGOUT in its words', async () => {
      const c = await RawClient.connect(PORT);
      expect(c.transcript).toBe(
        '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER] Usher ready.\r\n',
      );
      c.send(
        'a CAPABILITY\r\nb NOOP\r\nc ID ("name" "test" "version" NIL)\r\nd ID NIL\r\ne ID foo\r\nf ENABLE CONDSTORE\r\ng SELECT INBOX\r\n',
      );
      await c.expect(/^\* CAPABILITY IMAP4rev1 SASL-IR .* AUTH=OAUTHBEARER\r\n/m);
      await c.expect(/^a OK Pre-login capabilities listed, post-login capabilities have more\.\r\n/m);
      await c.expect(/^b OK NOOP completed\.\r\n/m);
      await c.expect(/^\* ID \("name" "Usher"\)\r\nc OK ID completed\.\r\n/m);
      await c.expect(/^\* ID \("name" "Usher"\)\r\nd OK ID completed\.\r\n/m);
      await c.expect(/^e BAD Invalid ID parameters\r\n/m);
      await c.expect(/^\* ENABLED\r\nf OK ENABLE ignored in non-authenticated state\.\r\n/m);
      await c.expect(/^g BAD Error in IMAP command received by server\.\r\n/m);
      c.send('h LOGOUT\r\n');
      await c.expect(/^\* BYE Logging out\r\nh OK Logout completed\.\r\n/m);
      await c.expectClosed();
    });

    it('runs AUTHENTICATE with continuations, cancel, bad base64 and unknown mechanisms', async () => {
      const c = await RawClient.connect(PORT);
      c.send('a AUTHENTICATE PLAIN\r\n');
      await c.expect(/^\+ \r\n/m);
      c.send('*\r\n');
      await c.expect(/^a BAD Authentication aborted by client\.\r\n/m);
      c.send('b AUTHENTICATE PLAIN\r\n');
      await c.expect(/^\+ \r\n/m);
      c.send('!!notbase64\r\n');
      await c.expect(/^b BAD Invalid base64 data in continued response\r\n/m);
      c.send('c AUTHENTICATE CRAM-MD5\r\n');
      await c.expect(/^c NO \[ALERT\] Unsupported authentication mechanism\.\r\n/m);
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      c.send('d AUTHENTICATE LOGIN\r\n');
      await c.expect(/^\+ VXNlcm5hbWU6\r\n/m);
      c.send(`${b64('demo0006')}\r\n`);
      await c.expect(/^\+ UGFzc3dvcmQ6\r\n/m);
      c.send(`${b64('demo')}\r\n`);
      await c.expect(/^d OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      c.destroy();

      const ir = await RawClient.connect(PORT);
      ir.send(`a AUTHENTICATE PLAIN ${b64('\0demo0006\0demo')}\r\n`);
      await ir.expect(/^a OK \[CAPABILITY [^\]]+\] Logged in\r\n/m);
      ir.destroy();
    });

    it('says BYE and closes on inactivity', async () => {
      const c = await RawClient.connect(PORT);
      await c.expect(/^\* BYE Disconnected for inactivity\.\r\n/m, 3000);
      await c.expectClosed();
    });

    it('says BYE and closes on an overlong line', async () => {
      const c = await RawClient.connect(PORT);
      c.send(`a LOGIN ${'x'.repeat(2000)} y\r\n`);
      await c.expect(/^\* BYE Input buffer full, aborting\r\n/m);
      await c.expectClosed();
    });

    it('refuses a literal above the pre-auth limit and closes', async () => {
      const c = await RawClient.connect(PORT);
      c.send('a LOGIN {1001}\r\n');
      await c.expect(/^a BAD Literal size too large\r\n/m);
      await c.expectClosed();
      expect(c.transcript).not.toContain('+ OK');
    });

    it('closes when plaintext is pipelined after STARTTLS', async () => {
      const c = await RawClient.connect(PORT);
      c.send('a STARTTLS\r\nb NOOP\r\n');
      await c.expect(/^a OK Begin TLS negotiation now\.\r\n/m);
      await c.expectClosed();
      expect(c.transcript).not.toContain('b OK');
    });

    it('forwards the client identity in ID and closes the backend as soon as the client leaves mid-login', async () => {
      const c = await RawClient.connect(HUNG_PORT);
      c.send('a LOGIN demo0001 demo\r\n');
      await eventually(() => hung.received().includes('a AUTHENTICATE PLAIN'), 3000, 'login sent to the backend');
      const session = hungProxy.ctx.registry.list()[0];
      expect(session).toBeUndefined();
      const [idLine, authLine] = hung.received().split('\r\n');
      expect(idLine).toMatch(
        new RegExp(
          `^I ID \\("x-session-id" "[A-Za-z0-9+/]{22}" "x-originating-ip" "127\\.0\\.0\\.1" "x-originating-port" "${c.socket.localPort}" "x-connected-ip" "${PROXY_IP.replace(/\./g, '\\.')}" "x-connected-port" "${HUNG_PORT}" "x-proxy-ttl" "4"\\)$`,
        ),
      );
      expect(authLine).toBe(`a AUTHENTICATE PLAIN ${Buffer.from('\0demo0001\0demo').toString('base64')}`);
      const backendSide = hung.sockets[0];
      const closedAt = new Promise<number>((resolve) => backendSide?.once('close', () => resolve(Date.now())));
      const leftAt = Date.now();
      c.destroy();
      // well before backendLoginTimeoutMs (800 ms): the proxy noticed the client, not the timeout
      expect((await closedAt) - leftAt).toBeLessThan(400);
      await hungProxy.settled();
      expect(hungProxy.ctx.registry.size).toBe(0);
    });

    it('answers NO [UNAVAILABLE] when the backend does not answer the login in time', async () => {
      const c = await RawClient.connect(HUNG_PORT);
      const t0 = Date.now();
      c.send('a LOGIN demo0001 demo\r\n');
      await c.expect(/^a NO \[UNAVAILABLE\] Account is temporarily unavailable\.\r\n/m, 3000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(hungProxy.ctx.limits.backendLoginTimeoutMs - 50);
      c.send('b NOOP\r\n');
      await c.expect(/^b OK NOOP completed\.\r\n/m);
      await eventually(() => hung.sockets.every((s) => s.destroyed), 3000, 'backend socket closed');
      c.destroy();
    });
  });
}
