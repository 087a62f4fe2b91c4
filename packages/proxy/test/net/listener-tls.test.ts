import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { ProxyHeader } from '@usher/proxy';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, Peer, startHarness, TRUSTED_PROXY, UNTRUSTED_PROXY, until } from './listener-harness.js';
import { encodeV2, sslTlv } from './proxy-encode.js';

const CLIENT: ProxyHeader = {
  version: 2,
  command: 'PROXY',
  addresses: { family: 4, source: { ip: '203.0.113.77', port: 40993 }, destination: { ip: '192.0.2.1', port: 993 } },
};

let dir: string;
let ca: Buffer;
let context: SecureContext;
let h: Harness | undefined;
const peers: Peer[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'usher-net-tls-'));
  const script = fileURLToPath(new URL('../../../../scripts/make-test-certs.sh', import.meta.url));
  execFileSync('bash', [script, dir], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'ca.pem'));
  context = createSecureContext({
    cert: readFileSync(join(dir, 'server.pem')),
    key: readFileSync(join(dir, 'server.key')),
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await h?.stop();
  h = undefined;
});

async function raw(from: string): Promise<Peer> {
  const p = await Peer.connect((h as Harness).port, from);
  peers.push(p);
  return p;
}

/** Starts TLS over an already connected (and possibly already PROXY-prefixed) socket. */
function startClientTls(p: Peer): Promise<Peer> {
  p.socket.removeAllListeners('data');
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({ socket: p.socket, servername: 'localhost', ca });
    s.once('error', reject);
    s.once('secureConnect', () => {
      const secure = Peer.over(s);
      peers.push(secure);
      resolve(secure);
    });
  });
}

describe('implicit TLS listener', () => {
  it('behind PROXY: header and ClientHello in one segment, the session speaks TLS', async () => {
    h = await startHarness({ haproxy: true, tls: context });
    const p = await raw(TRUSTED_PROXY);
    // cork: HAProxy often sends the header and the first bytes of the client together
    p.socket.cork();
    p.write(encodeV2(CLIENT));
    const pending = startClientTls(p);
    process.nextTick(() => p.socket.uncork());
    const s = await pending;
    const conn = await h.nth(1);
    expect(conn.tls).toBe(true);
    expect(conn.info).toMatchObject({ clientIp: '203.0.113.77', localPort: 993 });
    s.write('a1 CAPABILITY\r\n');
    await s.waitFor('ECHO a1 CAPABILITY\r\n');
  });

  it('behind PROXY: header first, TLS later', async () => {
    h = await startHarness({ haproxy: true, tls: context });
    const p = await raw(TRUSTED_PROXY);
    p.write(encodeV2(CLIENT, [sslTlv(0x01, 0)]));
    await new Promise((r) => setTimeout(r, 50));
    const s = await startClientTls(p);
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({ clientIp: '203.0.113.77', proxiedTls: true });
    s.write('x\r\n');
    await s.waitFor('ECHO x\r\n');
  });

  it('without haproxy', async () => {
    h = await startHarness({ tls: context });
    const s = await startClientTls(await raw(UNTRUSTED_PROXY));
    const conn = await h.nth(1);
    expect(conn.tls).toBe(true);
    expect(conn.info.clientIp).toBe(UNTRUSTED_PROXY);
    s.write('y\r\n');
    await s.waitFor('ECHO y\r\n');
  });

  it('frees the per-IP slot when a TLS client goes, and when closeAll ends it', async () => {
    h = await startHarness({ tls: context, maxConnectionsPerIp: 1 });
    const first = await startClientTls(await raw(UNTRUSTED_PROXY));
    await h.nth(1);
    first.destroy();
    await until(() => h?.listener.connections === 0);
    const second = await startClientTls(await raw(UNTRUSTED_PROXY));
    await h.nth(2);
    h.listener.closeAll();
    await second.waitFor('* BYE Server shutting down.\r\n');
    await second.expectClosed();
    const third = await startClientTls(await raw(UNTRUSTED_PROXY));
    await h.nth(3);
    third.write('z\r\n');
    await third.waitFor('ECHO z\r\n');
  });

  it('closes a plaintext client without reaching the handler', async () => {
    h = await startHarness({ tls: context });
    const p = await raw(UNTRUSTED_PROXY);
    p.write('a1 LOGIN user pass\r\n');
    await p.expectClosed();
    expect(h.accepted).toHaveLength(0);
  });

  it('closes a client that never starts the handshake', async () => {
    h = await startHarness({ tls: context, tlsHandshakeTimeoutMs: 200 });
    const p = await raw(UNTRUSTED_PROXY);
    await p.expectClosed();
    expect(h.accepted).toHaveLength(0);
  });
});
