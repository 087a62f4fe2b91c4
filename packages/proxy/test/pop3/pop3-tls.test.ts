import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientConnection, handlePop3Connection, type ProxyContext } from '@usher/proxy';
import { type DovecotCluster, requireDovecot, startDovecotBackends } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../harness/raw-client.js';
import { makeTestCerts } from '../harness/test-certs.js';
import { fixedRouter, testContext } from '../harness/test-context.js';
import { startTestListener, type TestListener } from '../harness/test-listener.js';
import { poplib } from './poplib.js';

const BACKEND = '127.0.4.2';
const HOST = '127.0.14.1';
const STLS_PORT = 10120;
const POP3S_PORT = 10995;
const BACKEND_STLS_PORT = 10121;
const BACKEND_POP3S_PORT = 10122;

describe('POP3 proxy with TLS on either side', () => {
  let cluster: DovecotCluster;
  let ctx: ProxyContext;
  const listeners: TestListener[] = [];
  const temp: string[] = [];

  beforeAll(async () => {
    requireDovecot();
    const certs = makeTestCerts();
    const root = mkdtempSync(join(tmpdir(), 'usher-pop3tls-'));
    temp.push(certs.dir, root);
    cluster = await startDovecotBackends({
      root,
      ips: [BACKEND],
      users: 3,
      tls: { cert: certs.cert, key: certs.key },
    });
    ctx = testContext({ router: fixedRouter(BACKEND), tls: certs.context, limits: { maxAuthAttempts: 2 } });
    const backendStls = testContext({ router: fixedRouter(BACKEND), backendTls: { mode: 'starttls', verify: false } });
    const backendPop3s = testContext({
      router: fixedRouter(BACKEND),
      backendTls: { mode: 'implicit', verify: false },
      backendPorts: { imap: 993, pop3: 995, lmtp: 24, managesieve: 4190 },
    });
    const via = (c: ProxyContext) => (conn: ClientConnection) => handlePop3Connection(conn, c);
    listeners.push(await startTestListener({ host: HOST, port: STLS_PORT }, via(ctx)));
    listeners.push(await startTestListener({ host: HOST, port: POP3S_PORT, implicitTls: certs.context }, via(ctx)));
    listeners.push(await startTestListener({ host: HOST, port: BACKEND_STLS_PORT, trusted: true }, via(backendStls)));
    listeners.push(await startTestListener({ host: HOST, port: BACKEND_POP3S_PORT, trusted: true }, via(backendPop3s)));
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await cluster?.stop();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('poplib upgrades with STLS, then sees USER and SASL and logs in', async () => {
    const [, before, stls, after, , pass, stat] = await poplib(HOST, STLS_PORT, 'plain', [
      ['capa'],
      ['stls'],
      ['capa'],
      ['user', 'demo0001'],
      ['pass', 'demo'],
      ['stat'],
      ['quit'],
    ]);
    expect(Object.keys(before as object)).toContain('STLS');
    expect(Object.keys(before as object)).not.toContain('USER');
    expect(stls).toBe('+OK Begin TLS negotiation now.');
    expect(after).toMatchObject({ USER: [], SASL: ['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER'] });
    expect(Object.keys(after as object)).not.toContain('STLS');
    expect(pass).toMatch(/^\+OK Logged in/);
    expect((stat as number[]).length).toBe(2);
  });

  it('poplib logs in over implicit TLS (POP3_SSL)', async () => {
    const [welcome, capa, , pass, stat] = await poplib(HOST, POP3S_PORT, 'ssl', [
      ['capa'],
      ['user', 'demo0002'],
      ['pass', 'demo'],
      ['stat'],
      ['quit'],
    ]);
    expect(welcome).toEqual({ welcome: '+OK Usher ready.' });
    expect(Object.keys(capa as object)).not.toContain('STLS');
    expect(pass).toMatch(/^\+OK Logged in/);
    expect((stat as number[]).length).toBe(2);
  });

  it('STLS refuses bytes pipelined after it, and a second STLS', async () => {
    const c = await RawClient.connect(HOST, STLS_PORT);
    await c.until(/ready\.\r\n/);
    // RFC 2595 §3.1 / the STARTTLS injection hole: plaintext after STLS must not be taken as TLS-protected
    c.send('STLS\r\nUSER evil\r\n');
    await c.waitClosed();
    expect(c.transcript).toBe('+OK Usher ready.\r\n+OK Begin TLS negotiation now.\r\n');

    const d = await RawClient.connect(HOST, STLS_PORT);
    await d.until(/ready\.\r\n/);
    await d.command('STLS', /^\+OK Begin TLS negotiation now\.\r\n/);
    await d.startTls();
    expect(await d.command('STLS', /\r\n/)).toBe('-ERR TLS is already active.\r\n');
    expect(await d.command('USER demo0001', /\r\n/)).toBe('+OK\r\n');
    d.close();
  });

  it('closes after the last allowed failed login', async () => {
    const c = await RawClient.connect(HOST, POP3S_PORT, { tls: true });
    await c.until(/ready\.\r\n/);
    await c.command('USER demo0001', /^\+OK\r\n/);
    expect(await c.command('PASS nope', /\r\n/)).toBe('-ERR [AUTH] Authentication failed.\r\n');
    await c.command('USER demo0001', /^\+OK\r\n/);
    expect(await c.command('PASS nope', /\r\n/)).toBe('-ERR [AUTH] Authentication failed.\r\n');
    await c.waitClosed();
  });

  it('talks TLS to the backend with STLS, forwarding the client address', async () => {
    const c = await RawClient.connect(HOST, BACKEND_STLS_PORT, { localAddress: '127.0.14.51' });
    await c.until(/ready\.\r\n/);
    await c.command('USER demo0003', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('+OK Logged in.\r\n');
    expect(await c.command('STAT', /\r\n/)).toMatch(/^\+OK \d+ \d+\r\n$/);
    c.close();
    await expect
      .poll(() => cluster.readLog(BACKEND), { timeout: 5000 })
      .toMatch(/pop3-login: Info: Login: user=<demo0003>.*rip=127\.0\.14\.51.*TLS/);
  });

  it('talks to the backend over implicit TLS (pop3s)', async () => {
    const c = await RawClient.connect(HOST, BACKEND_POP3S_PORT, { localAddress: '127.0.14.52' });
    await c.until(/ready\.\r\n/);
    await c.command('USER demo0003', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('+OK Logged in.\r\n');
    expect(await c.command('LIST', /^\.\r\n/m)).toMatch(/^\+OK/);
    c.close();
    await expect
      .poll(() => cluster.readLog(BACKEND), { timeout: 5000 })
      .toMatch(/pop3-login: Info: Login: user=<demo0003>.*rip=127\.0\.14\.52.*TLS/);
  });
});
