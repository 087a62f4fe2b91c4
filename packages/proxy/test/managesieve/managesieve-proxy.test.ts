import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientConnection,
  DEFAULT_SIEVE_CAPABILITY,
  handleManageSieveConnection,
  type ProxyContext,
} from '@usher/proxy';
import { type DovecotCluster, requireDovecot, startDovecotBackends } from '@usher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../harness/raw-client.js';
import { makeTestCerts } from '../harness/test-certs.js';
import { fixedRouter, testContext } from '../harness/test-context.js';
import { startTestListener, type TestListener } from '../harness/test-listener.js';
import { SieveClient } from './sieve-client.js';

const BACKEND = '127.0.4.3';
const DOWN = '127.0.4.9';
const HOST = '127.0.14.1';
const UNTRUSTED_PORT = 14190;
const TRUSTED_PORT = 14191;
const SHORT_PORT = 14192;
const BACKEND_TLS_PORT = 14193;
const SCRIPT = 'require "fileinto";\r\nif header :contains "subject" "usher" { fileinto "INBOX"; }\r\n';

// RFC 5804 requires SIEVE before login; sieve-connect refuses a server without it
const caps = (sasl: string, starttls: boolean) =>
  `"IMPLEMENTATION" "Usher"\r\n"SIEVE" "${DEFAULT_SIEVE_CAPABILITY.sieve}"\r\n"NOTIFY" "${DEFAULT_SIEVE_CAPABILITY.notify}"\r\n"SASL" "${sasl}"\r\n${starttls ? '"STARTTLS"\r\n' : ''}"VERSION" "1.0"\r\n`;
const ALL_MECHS = 'PLAIN LOGIN XOAUTH2 OAUTHBEARER';

describe('ManageSieve proxy against a real Dovecot (Pigeonhole)', () => {
  let cluster: DovecotCluster;
  let ctx: ProxyContext;
  const listeners: TestListener[] = [];
  const temp: string[] = [];

  beforeAll(async () => {
    requireDovecot();
    const certs = makeTestCerts();
    const root = mkdtempSync(join(tmpdir(), 'usher-sieve-'));
    temp.push(certs.dir, root);
    cluster = await startDovecotBackends({
      root,
      ips: [BACKEND],
      users: 3,
      tls: { cert: certs.cert, key: certs.key },
    });
    ctx = testContext({ router: fixedRouter(BACKEND, { demo0003: DOWN }), tls: certs.context });
    const backendTls = testContext({ router: fixedRouter(BACKEND), backendTls: { mode: 'starttls', verify: false } });
    const via = (c: ProxyContext) => (conn: ClientConnection) => handleManageSieveConnection(conn, c);
    listeners.push(await startTestListener({ host: HOST, port: UNTRUSTED_PORT }, via(ctx)));
    listeners.push(await startTestListener({ host: HOST, port: TRUSTED_PORT, trusted: true }, via(ctx)));
    listeners.push(
      await startTestListener(
        { host: HOST, port: SHORT_PORT, trusted: true, idleTimeoutMs: 300, maxLineLength: 200 },
        via(ctx),
      ),
    );
    listeners.push(await startTestListener({ host: HOST, port: BACKEND_TLS_PORT, trusted: true }, via(backendTls)));
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await cluster?.stop();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });

  it('greets with capabilities; no SASL and no login before TLS on an untrusted connection', async () => {
    const c = await SieveClient.connect(HOST, UNTRUSTED_PORT);
    expect(c.greeting).toBe(`${caps('', true)}OK "Usher ready."\r\n`);
    expect(await c.command('CAPABILITY')).toBe(`${caps('', true)}OK "Capability completed."\r\n`);
    expect(await c.authenticatePlain('demo0001', 'demo')).toBe(
      'NO (ENCRYPT-NEEDED) "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."\r\n',
    );
    expect(await c.logout()).toBe('OK "Logout completed."\r\n');
  });

  it('authenticates PLAIN, then LISTSCRIPTS, PUTSCRIPT (literal), GETSCRIPT and LOGOUT reach the backend', async () => {
    const c = await SieveClient.connect(HOST, TRUSTED_PORT);
    expect(c.greeting).toBe(`${caps(ALL_MECHS, true)}OK "Usher ready."\r\n`);
    expect(await c.authenticatePlain('demo0001', 'demo')).toBe('OK "Logged in."\r\n');
    expect(await c.command('LISTSCRIPTS')).toMatch(/^(?!.*"usher").*OK "Listscripts completed\."\r\n$/s);
    expect(await c.putScript('usher', SCRIPT)).toMatch(/^OK/);
    expect(await c.command('SETACTIVE "usher"')).toMatch(/^OK/);
    expect(await c.command('LISTSCRIPTS')).toBe('"usher" ACTIVE\r\nOK "Listscripts completed."\r\n');
    expect(await c.command('GETSCRIPT "usher"')).toBe(
      `{${SCRIPT.length}}\r\n${SCRIPT}\r\nOK "Getscript completed."\r\n`,
    );
    expect(await c.logout()).toBe('OK "Logout completed."\r\n');
  });

  it('STARTTLS re-issues the capabilities, then a login answers the challenge with a literal', async () => {
    const c = await SieveClient.connect(HOST, UNTRUSTED_PORT);
    expect(await c.startTls()).toBe(`${caps(ALL_MECHS, false)}OK "TLS negotiation successful."\r\n`);
    expect(await c.command('STARTTLS')).toBe('NO "TLS is already active."\r\n');
    expect(await c.authenticatePlain('demo0001', 'demo', { initial: false })).toBe('OK "Logged in."\r\n');
    expect(await c.command('LISTSCRIPTS')).toContain('"usher" ACTIVE\r\n');
    expect(await c.logout()).toBe('OK "Logout completed."\r\n');
  });

  it('relays a wrong password after the delay and lets the client retry; "*" cancels', async () => {
    const c = await SieveClient.connect(HOST, TRUSTED_PORT);
    const started = Date.now();
    expect(await c.authenticatePlain('demo0002', 'wrong')).toBe('NO "Authentication failed."\r\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(ctx.limits.authFailureDelayMs);
    expect(await c.raw.command('AUTHENTICATE "PLAIN"', /\r\n/)).toBe('""\r\n');
    expect(await c.command('"*"')).toBe('NO "Authentication aborted by client."\r\n');
    expect(await c.command('AUTHENTICATE "CRAM-MD5"')).toBe('NO "Unsupported authentication mechanism."\r\n');
    expect(await c.authenticatePlain('demo0002', 'demo')).toBe('OK "Logged in."\r\n');
    expect(await c.logout()).toBe('OK "Logout completed."\r\n');
  });

  it('an unreachable backend is TRYLATER and the client stays unauthenticated', async () => {
    const c = await SieveClient.connect(HOST, TRUSTED_PORT);
    expect(await c.authenticatePlain('demo0003', 'demo')).toBe(
      'NO (TRYLATER) "Account is temporarily unavailable."\r\n',
    );
    expect(await c.authenticatePlain('demo0001', 'demo')).toBe('OK "Logged in."\r\n');
    c.raw.close();
  });

  it('forwards the client address with XCLIENT: the backend logs it', async () => {
    const c = await SieveClient.connect(HOST, TRUSTED_PORT, { localAddress: '127.0.14.53' });
    expect(await c.authenticatePlain('demo0002', 'demo')).toBe('OK "Logged in."\r\n');
    await c.logout();
    await expect
      .poll(() => cluster.readLog(BACKEND), { timeout: 5000 })
      .toMatch(/managesieve-login: Info: Login: user=<demo0002>.*rip=127\.0\.14\.53/);
  });

  it('talks TLS to the backend when configured (STARTTLS, then capabilities again)', async () => {
    const c = await SieveClient.connect(HOST, BACKEND_TLS_PORT, { localAddress: '127.0.14.54' });
    expect(await c.authenticatePlain('demo0001', 'demo')).toBe('OK "Logged in."\r\n');
    expect(await c.command('LISTSCRIPTS')).toContain('"usher" ACTIVE\r\n');
    await c.logout();
    await expect
      .poll(() => cluster.readLog(BACKEND), { timeout: 5000 })
      .toMatch(/managesieve-login: Info: Login: user=<demo0001>.*rip=127\.0\.14\.54.*TLS/);
  });

  it('a kicked session gets BYE and is closed', async () => {
    const c = await SieveClient.connect(HOST, TRUSTED_PORT);
    expect(await c.authenticatePlain('demo0002', 'demo')).toBe('OK "Logged in."\r\n');
    expect(ctx.registry.kickUser('demo0002', 'Kicked by admin')).toBe(1);
    await c.raw.waitClosed();
    expect(c.raw.transcript).toMatch(/BYE "Kicked by admin"\r\n$/);
  });

  it('NOOP echoes its tag; unknown and malformed commands are NO', async () => {
    const c = await SieveClient.connect(HOST, UNTRUSTED_PORT);
    expect(await c.command('NOOP')).toBe('OK "NOOP completed."\r\n');
    expect(await c.command('noop "t1"')).toBe('OK (TAG "t1") "Done"\r\n');
    expect(await c.command('PUTSCRIPT "x" {1+}\r\nx')).toBe('NO "Unknown command."\r\n');
    expect(await c.command('"quoted"')).toBe('NO "Error in MANAGESIEVE command received by server."\r\n');
    expect(await c.command('AUTHENTICATE')).toBe('NO "Invalid arguments."\r\n');
    expect(await c.logout()).toBe('OK "Logout completed."\r\n');
  });

  it('closes after too many bad commands while a parallel session is undisturbed', async () => {
    const good = await SieveClient.connect(HOST, TRUSTED_PORT);
    expect(await good.authenticatePlain('demo0001', 'demo')).toBe('OK "Logged in."\r\n');
    const bad = await RawClient.connect(HOST, TRUSTED_PORT);
    await bad.until(/^OK .*\r\n/m);
    // a literal swallows its bytes, CRLF or not: '{3}' below takes "abc"
    const junk = [
      'GETSCRIPT "a"',
      '"x',
      '{3}\r\nabc',
      '\x00\x01',
      'X {2+}\r\nab',
      '',
      'HAVESPACE',
      ')(',
      'DELETESCRIPT',
      '\\',
    ];
    bad.send(junk.map((j) => `${j}\r\n`).join(''));
    await bad.waitClosed();
    expect(bad.transcript.match(/^NO "[^"]*"\r\n/gm)).toHaveLength(ctx.limits.maxBadCommands);
    expect(bad.transcript).toMatch(/BYE "Too many invalid MANAGESIEVE commands\."\r\n$/);
    expect(await good.command('LISTSCRIPTS')).toContain('OK "Listscripts completed."\r\n');
    await good.logout();
  });

  it('a literal over the limit, a long line and an idle client are answered with BYE', async () => {
    const big = await RawClient.connect(HOST, TRUSTED_PORT);
    await big.until(/^OK .*\r\n/m);
    big.send(`AUTHENTICATE "PLAIN" {${ctx.limits.maxPreAuthLiteral + 1}+}\r\n`);
    await big.waitClosed();
    expect(big.transcript).toMatch(/BYE "Literal too large\."\r\n$/);
    const long = await RawClient.connect(HOST, SHORT_PORT);
    await long.until(/^OK .*\r\n/m);
    long.send(`NOOP "${'a'.repeat(300)}"\r\n`);
    await long.waitClosed();
    expect(long.transcript).toMatch(/BYE "Input line too long\."\r\n$/);
    const idle = await RawClient.connect(HOST, SHORT_PORT);
    await idle.waitClosed();
    expect(idle.transcript).toMatch(/OK "Usher ready\."\r\nBYE "Disconnected for inactivity\."\r\n$/);
  });
});
