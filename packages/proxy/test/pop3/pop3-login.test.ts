import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { handlePop3Connection, type ProxyContext } from '@usher/proxy';
import { type DovecotCluster, requireDovecot, startDovecotBackends } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverLmtp } from '../harness/mail.js';
import { RawClient } from '../harness/raw-client.js';
import { fixedRouter, type recordingLogger, testContext } from '../harness/test-context.js';
import { startTestListener, type TestListener } from '../harness/test-listener.js';
import { poplib } from './poplib.js';

const BACKEND = '127.0.4.1';
const DOWN = '127.0.4.9';
const HOST = '127.0.14.1';
const TRUSTED_PORT = 10110;
const UNTRUSTED_PORT = 10111;
const SHORT_PORT = 10113;
const run = promisify(execFile);
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('POP3 proxy against a real Dovecot', () => {
  let cluster: DovecotCluster;
  let ctx: ProxyContext;
  const listeners: TestListener[] = [];
  const temp: string[] = [];

  beforeAll(async () => {
    requireDovecot({ swaks: true });
    const root = mkdtempSync(join(tmpdir(), 'usher-pop3-'));
    temp.push(root);
    cluster = await startDovecotBackends({
      root,
      ips: [BACKEND],
      users: 3,
    });
    ctx = testContext({ router: fixedRouter(BACKEND, { demo0003: DOWN }) });
    const handler = (c: Parameters<typeof handlePop3Connection>[0]) => handlePop3Connection(c, ctx);
    listeners.push(await startTestListener({ host: HOST, port: TRUSTED_PORT, trusted: true }, handler));
    listeners.push(await startTestListener({ host: HOST, port: UNTRUSTED_PORT }, handler));
    listeners.push(
      await startTestListener(
        { host: HOST, port: SHORT_PORT, trusted: true, idleTimeoutMs: 300, maxLineLength: 200 },
        handler,
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await cluster?.stop();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('poplib logs in with USER/PASS, STATs and RETRieves a message delivered over LMTP', async () => {
    const subject = `pop3-retr-${Date.now()}`;
    await deliverLmtp(BACKEND, 'demo0001@demo.test', subject);
    const [welcome, user, pass, stat, , retr, quit] = await poplib(HOST, TRUSTED_PORT, 'plain', [
      ['user', 'demo0001'],
      ['pass', 'demo'],
      ['stat'],
      ['list'],
      ['retr', 1],
      ['quit'],
    ]);
    expect(welcome).toEqual({ welcome: '+OK Usher ready.' });
    expect(user).toBe('+OK');
    expect(pass).toMatch(/^\+OK Logged in/);
    const [count] = stat as [number, number];
    expect(count).toBeGreaterThanOrEqual(1);
    // RETR 1 of a fresh maildir is this delivery; later tests only add messages
    expect((retr as string[]).join('\n')).toContain(`Subject: ${subject}`);
    expect(quit).toMatch(/^\+OK/);
  });

  it('curl lists the mailbox', async () => {
    await deliverLmtp(BACKEND, 'demo0002@demo.test', 'curl-list');
    const { stdout } = await run('curl', [
      '-s',
      '--max-time',
      '10',
      `pop3://${HOST}:${TRUSTED_PORT}/`,
      '--user',
      'demo0002:demo',
    ]);
    expect(stdout).toMatch(/^1 \d+\r?$/m);
  });

  it('AUTH PLAIN over a raw socket: with an initial response, and with a continuation; pipelined commands survive', async () => {
    const c = await RawClient.connect(HOST, TRUSTED_PORT);
    await c.until(/^\+OK Usher ready\.\r\n/);
    // RFC 2449 PIPELINING: the STAT sent with AUTH must reach the backend after login
    c.send(`AUTH PLAIN ${b64('\0demo0001\0demo')}\r\nSTAT\r\n`);
    expect(await c.until(/\+OK \d+ \d+\r\n/)).toMatch(/^\+OK Logged in\.\r\n\+OK \d+ \d+\r\n$/);
    await c.command('QUIT', /^\+OK.*\r\n/m);
    await c.waitClosed();

    const d = await RawClient.connect(HOST, TRUSTED_PORT);
    await d.until(/ready\.\r\n/);
    expect(await d.command('AUTH PLAIN', /^\+ ?\r\n/m)).toMatch(/^\+ ?\r\n$/);
    expect(await d.command(b64('\0demo0001\0demo'), /\r\n/)).toBe('+OK Logged in.\r\n');
    expect(ctx.registry.list().some((s) => s.protocol === 'pop3' && s.username === 'demo0001')).toBe(true);
    // a kick closes both sides; POP3 has nothing to say unasked
    expect(ctx.registry.kickUser('demo0001')).toBeGreaterThanOrEqual(1);
    await d.waitClosed();
    await expect.poll(() => ctx.registry.list().filter((s) => s.username === 'demo0001').length).toBe(0);
  });

  it('a wrong password is relayed after the delay and the client may retry on the same connection', async () => {
    const started = Date.now();
    const [, , bad, , good, stat] = await poplib(HOST, TRUSTED_PORT, 'plain', [
      ['user', 'demo0001'],
      ['pass', 'wrong'],
      ['user', 'demo0001'],
      ['pass', 'demo'],
      ['stat'],
      ['quit'],
    ]);
    expect(bad).toEqual({ error: '-ERR [AUTH] Authentication failed.' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(ctx.limits.authFailureDelayMs);
    expect(good).toMatch(/^\+OK Logged in/);
    expect((stat as number[])[0]).toBeGreaterThanOrEqual(1);
    const logged = JSON.stringify((ctx.log as ReturnType<typeof recordingLogger>).lines);
    expect(logged).not.toContain('wrong');
    expect(logged).not.toContain(b64('\0demo0001\0demo'));
  });

  it('an unreachable backend is a temporary failure and the client stays in AUTHORIZATION', async () => {
    const c = await RawClient.connect(HOST, TRUSTED_PORT);
    await c.until(/ready\.\r\n/);
    await c.command('USER demo0003', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n');
    await c.command('USER demo0001', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('+OK Logged in.\r\n');
    c.close();
  });

  it('the backend logs the real client address, forwarded with XCLIENT', async () => {
    const c = await RawClient.connect(HOST, TRUSTED_PORT, { localAddress: '127.0.14.50' });
    await c.until(/ready\.\r\n/);
    await c.command('USER demo0002', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('+OK Logged in.\r\n');
    await c.command('QUIT', /\r\n/);
    await expect
      .poll(() => cluster.readLog(BACKEND), { timeout: 5000 })
      .toMatch(/pop3-login: Info: Login: user=<demo0002>.*rip=127\.0\.14\.50/);
  });

  it('refuses plaintext on an untrusted, unencrypted connection and does not offer USER or SASL', async () => {
    const [, capa, user, pass] = await poplib(HOST, UNTRUSTED_PORT, 'plain', [
      ['capa'],
      ['user', 'demo0001'],
      ['pass', 'demo'],
      ['quit'],
    ]);
    expect(Object.keys(capa as object)).toEqual(['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE']);
    const refusal = '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.';
    expect(user).toEqual({ error: refusal });
    expect(pass).toEqual({ error: refusal });
    const c = await RawClient.connect(HOST, UNTRUSTED_PORT);
    await c.until(/ready\.\r\n/);
    expect(await c.command(`AUTH PLAIN ${b64('\0demo0001\0demo')}`, /\r\n/)).toBe(`${refusal}\r\n`);
    expect(await c.command('AUTH', /^\.\r\n/m)).toBe('+OK\r\n.\r\n');
    c.close();
  });

  it('AUTH: mechanism list, unsupported mechanism, client cancel, SASL LOGIN', async () => {
    const c = await RawClient.connect(HOST, TRUSTED_PORT);
    await c.until(/ready\.\r\n/);
    expect(await c.command('CAPA', /^\.\r\n/m)).toBe(
      '+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n.\r\n',
    );
    expect(await c.command('AUTH', /^\.\r\n/m)).toBe('+OK\r\nPLAIN\r\nLOGIN\r\nXOAUTH2\r\nOAUTHBEARER\r\n.\r\n');
    expect(await c.command('AUTH CRAM-MD5', /\r\n/)).toBe('-ERR Unsupported authentication mechanism.\r\n');
    await c.command('AUTH PLAIN', /^\+ ?\r\n/);
    expect(await c.command('*', /\r\n/)).toBe('-ERR [AUTH] Authentication aborted by client.\r\n');
    expect(await c.command('AUTH LOGIN', /\r\n/)).toBe(`+ ${b64('Username:')}\r\n`);
    expect(await c.command(b64('demo0002'), /\r\n/)).toBe(`+ ${b64('Password:')}\r\n`);
    expect(await c.command(b64('demo'), /\r\n/)).toBe('+OK Logged in.\r\n');
    expect(await c.command('STAT', /\r\n/)).toMatch(/^\+OK \d+ \d+\r\n$/);
    c.close();
  });

  it('closes after too many bad commands while a parallel session is undisturbed', async () => {
    const good = await RawClient.connect(HOST, TRUSTED_PORT);
    await good.until(/ready\.\r\n/);
    await good.command('USER demo0001', /^\+OK\r\n/);
    await good.command('PASS demo', /^\+OK Logged in\.\r\n/);
    const bad = await RawClient.connect(HOST, TRUSTED_PORT);
    await bad.until(/ready\.\r\n/);
    const junk = ['STAT', 'RETR 1', '\x00\x01\x02', '', 'x'.repeat(100), 'DELE 1', '{5}', 'LIST', 'UIDL', 'TOP 1 1'];
    bad.send(junk.map((j) => `${j}\r\n`).join(''));
    await bad.waitClosed();
    expect(bad.transcript.match(/^-ERR Unknown command\.\r\n/gm)).toHaveLength(ctx.limits.maxBadCommands);
    expect(bad.transcript).toMatch(/-ERR Too many invalid commands\.\r\n$/);
    expect(await good.command('STAT', /\r\n/)).toMatch(/^\+OK \d+ \d+\r\n$/);
    await good.command('QUIT', /\r\n/);
  });

  it('a line over the limit and an idle client are answered and closed', async () => {
    const long = await RawClient.connect(HOST, SHORT_PORT);
    await long.until(/ready\.\r\n/);
    long.send(`USER ${'a'.repeat(300)}\r\n`);
    await long.waitClosed();
    expect(long.transcript).toMatch(/-ERR Input line too long\.\r\n$/);
    const idle = await RawClient.connect(HOST, SHORT_PORT);
    await idle.waitClosed();
    expect(idle.transcript).toBe('+OK Usher ready.\r\n-ERR Disconnected for inactivity.\r\n');
  });
});
