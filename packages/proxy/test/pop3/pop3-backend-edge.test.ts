import { handlePop3Connection, type ProxyContext, type ProxyLimits } from '@usher/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../harness/raw-client.js';
import { type ScriptedBackend, type ScriptedPeer, startScriptedBackend } from '../harness/scripted-backend.js';
import { fixedRouter, testContext } from '../harness/test-context.js';
import { startTestListener, type TestListener } from '../harness/test-listener.js';

// a scripted backend on a test backend IP, off Dovecot's ports so the real-backend tests may run alongside
const BACKEND = '127.0.4.1';
const HOST = '127.0.14.1';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

let nextPort = 0;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** A proxy listener in front of a fresh scripted backend. */
async function setup(
  script: (peer: ScriptedPeer) => Promise<void>,
  limits: Partial<ProxyLimits> = {},
): Promise<{ backend: ScriptedBackend; ctx: ProxyContext; port: number }> {
  const n = nextPort++;
  const backend = await startScriptedBackend(BACKEND, 11110 + n, script);
  const ctx = testContext({
    router: fixedRouter(BACKEND),
    backendPorts: { imap: 1, pop3: 11110 + n, lmtp: 1, managesieve: 1 },
    limits: { authFailureDelayMs: 0, ...limits },
  });
  const listener: TestListener = await startTestListener({ host: HOST, port: 10130 + n, trusted: true }, (c) =>
    handlePop3Connection(c, ctx),
  );
  cleanups.push(
    () => listener.close(),
    () => backend.close(),
  );
  return { backend, ctx, port: 10130 + n };
}

async function client(port: number): Promise<RawClient> {
  const c = await RawClient.connect(HOST, port);
  await c.until(/ready\.\r\n/);
  return c;
}

describe('POP3 backend login, scripted backend', () => {
  it('forwards the client address, replays XOAUTH2 and relays a further challenge to the client', async () => {
    const { backend, port } = await setup(async (peer) => {
      peer.write('+OK [XCLIENT] fake ready.\r\n');
      await peer.line();
      peer.write('+OK Updated\r\n');
      await peer.line();
      peer.write('+ eyJzdGF0dXMiOiI0MDEifQ==\r\n');
      await peer.line();
      peer.write('-ERR [AUTH] Authentication failed.\r\n');
    });
    const c = await client(port);
    const token = b64('user=demo0001\x01auth=Bearer abc\x01\x01');
    expect(await c.command(`AUTH XOAUTH2 ${token}`, /\r\n/)).toBe('+ eyJzdGF0dXMiOiI0MDEifQ==\r\n');
    expect(await c.command('', /\r\n/)).toBe('-ERR [AUTH] Authentication failed.\r\n');
    const [xclient, auth, answer] = backend.received;
    expect(xclient).toMatch(/^XCLIENT ADDR=127\.0\.0\.1 PORT=\d+ SESSION=[A-Za-z0-9+/]{22} TTL=4$/);
    expect(auth).toBe(`AUTH XOAUTH2 ${token}`);
    expect(answer).toBe('');
    c.close();
  });

  it('sends no XCLIENT to a backend that does not offer it; relays its OK verbatim, then splices', async () => {
    const { backend, ctx, port } = await setup(async (peer) => {
      peer.write('+OK fake ready.\r\n');
      await peer.line();
      peer.write('+OK Welcome aboard, demo0002.\r\n');
      await peer.line();
      peer.write('+OK 7 700\r\n');
      await peer.line();
    });
    const c = await client(port);
    await c.command('USER demo0002', /^\+OK\r\n/);
    expect(await c.command('PASS s3cret word', /\r\n/)).toBe('+OK Welcome aboard, demo0002.\r\n');
    expect(await c.command('STAT', /\r\n/)).toBe('+OK 7 700\r\n');
    expect(backend.received).toEqual([`AUTH PLAIN ${b64('\0demo0002\0s3cret word')}`, 'STAT']);
    expect(ctx.registry.size).toBe(1);
    c.send('QUIT\r\n');
    await c.waitClosed();
    await expect.poll(() => ctx.registry.size).toBe(0);
  });

  it('a backend that does not speak POP3, or says nothing, is a temporary failure', async () => {
    const garbage = await setup(async (peer) => {
      peer.write('* OK IMAP4rev1 ready\r\n');
    });
    const c = await client(garbage.port);
    await c.command('USER demo0001', /^\+OK\r\n/);
    expect(await c.command('PASS demo', /\r\n/)).toBe('-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n');
    c.close();

    const silent = await setup(() => new Promise(() => {}), { backendLoginTimeoutMs: 300 });
    const d = await client(silent.port);
    await d.command('USER demo0001', /^\+OK\r\n/);
    const started = Date.now();
    expect(await d.command('PASS demo', /\r\n/)).toBe('-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n');
    expect(Date.now() - started).toBeLessThan(3000);
    await silent.backend.closed(1);
    d.close();
  });

  it('a client that leaves during the backend login leaves no session and no backend connection', async () => {
    let release: () => void = () => {};
    const replied = new Promise<void>((r) => {
      release = r;
    });
    const { backend, ctx, port } = await setup(async (peer) => {
      peer.write('+OK fake ready.\r\n');
      await peer.line();
      await replied;
      peer.write('+OK Logged in.\r\n');
      await peer.line().catch(() => {});
    });
    const c = await client(port);
    c.send(`AUTH PLAIN ${b64('\0demo0001\0demo')}\r\n`);
    await expect.poll(() => backend.received.length).toBe(1);
    c.close();
    release();
    await backend.closed(1);
    expect(ctx.registry.size).toBe(0);
  });
});
