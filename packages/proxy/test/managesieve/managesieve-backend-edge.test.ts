import { handleManageSieveConnection, type ProxyContext } from '@usher/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../harness/raw-client.js';
import { type ScriptedBackend, type ScriptedPeer, startScriptedBackend } from '../harness/scripted-backend.js';
import { fixedRouter, testContext } from '../harness/test-context.js';
import { startTestListener, type TestListener } from '../harness/test-listener.js';

// a scripted backend on a test backend IP, off Dovecot's ports so the real-backend tests may run alongside
const BACKEND = '127.0.4.3';
const HOST = '127.0.14.1';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const IR = b64('\0demo0001\0demo');

let nextPort = 0;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(
  script: (peer: ScriptedPeer) => Promise<void>,
): Promise<{ backend: ScriptedBackend; ctx: ProxyContext; port: number }> {
  const n = nextPort++;
  const backend = await startScriptedBackend(BACKEND, 14290 + n, script);
  const ctx = testContext({
    router: fixedRouter(BACKEND),
    backendPorts: { imap: 1, pop3: 1, lmtp: 1, managesieve: 14290 + n },
    limits: { authFailureDelayMs: 0 },
  });
  const listener: TestListener = await startTestListener({ host: HOST, port: 14200 + n, trusted: true }, (c) =>
    handleManageSieveConnection(c, ctx),
  );
  cleanups.push(
    () => listener.close(),
    () => backend.close(),
  );
  return { backend, ctx, port: 14200 + n };
}

async function client(port: number): Promise<RawClient> {
  const c = await RawClient.connect(HOST, port);
  await c.until(/^OK .*\r\n/m);
  return c;
}

describe('ManageSieve backend login, scripted backend', () => {
  it('relays a literal challenge and an OK with a SASL response code verbatim', async () => {
    const { backend, port } = await setup(async (peer) => {
      peer.write('"IMPLEMENTATION" "fake"\r\n"SASL" {5}\r\nPLAIN\r\nOK "fake ready."\r\n');
      await peer.line();
      peer.write('{4}\r\nYWJj\r\n');
      await peer.line();
      peer.write('OK (SASL "ZG9uZQ==") "Logged in."\r\n');
      await peer.line();
      peer.write('"s1" ACTIVE\r\nOK "Listscripts completed."\r\n');
    });
    const c = await client(port);
    expect(await c.command(`AUTHENTICATE "PLAIN" "${IR}"`, /YWJj\r\n/)).toBe('{4}\r\nYWJj\r\n');
    expect(await c.command('{4+}\r\neHl6', /\r\n/)).toBe('OK (SASL "ZG9uZQ==") "Logged in."\r\n');
    expect(await c.command('LISTSCRIPTS', /^OK.*\r\n/m)).toBe('"s1" ACTIVE\r\nOK "Listscripts completed."\r\n');
    // no XCLIENT offered, none sent
    expect(backend.received).toEqual([`AUTHENTICATE "PLAIN" "${IR}"`, '"eHl6"', 'LISTSCRIPTS']);
    c.close();
  });

  it('sends XCLIENT when offered and relays a NO carrying a literal verbatim', async () => {
    const { backend, ctx, port } = await setup(async (peer) => {
      peer.write('"IMPLEMENTATION" "fake"\r\n"XCLIENT"\r\nOK "fake ready."\r\n');
      await peer.line();
      peer.write('OK "Updated"\r\n');
      await peer.line();
      peer.write('NO (AUTH-TOO-WEAK) {12}\r\nbad password\r\n');
    });
    const c = await client(port);
    expect(await c.command(`AUTHENTICATE "PLAIN" "${IR}"`, /password\r\n/)).toBe(
      'NO (AUTH-TOO-WEAK) {12}\r\nbad password\r\n',
    );
    expect(backend.received[0]).toMatch(/^XCLIENT ADDR=127\.0\.0\.1 PORT=\d+ SESSION=\S{22} TTL=4$/);
    expect(ctx.registry.size).toBe(0);
    // still unauthenticated and talking
    expect(await c.command('NOOP', /\r\n/)).toBe('OK "NOOP completed."\r\n');
    c.close();
  });

  it('a backend greeting with NO, or a refused XCLIENT, is TRYLATER', async () => {
    const no = await setup(async (peer) => {
      peer.write('NO "Maintenance."\r\n');
    });
    const c = await client(no.port);
    expect(await c.command(`AUTHENTICATE "PLAIN" "${IR}"`, /\r\n/)).toBe(
      'NO (TRYLATER) "Account is temporarily unavailable."\r\n',
    );
    c.close();
    const refused = await setup(async (peer) => {
      peer.write('"XCLIENT"\r\nOK "fake ready."\r\n');
      await peer.line();
      peer.write('NO "You are not trusted."\r\n');
    });
    const d = await client(refused.port);
    expect(await d.command(`AUTHENTICATE "PLAIN" "${IR}"`, /\r\n/)).toBe(
      'NO (TRYLATER) "Account is temporarily unavailable."\r\n',
    );
    d.close();
  });
});
