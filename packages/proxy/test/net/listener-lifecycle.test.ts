import { connect } from 'node:net';
import type { ClientConnection, ProxyHeader } from '@usher/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, LISTEN_IP, Peer, startHarness, TRUSTED_PROXY, until } from './listener-harness.js';
import { encodeV2 } from './proxy-encode.js';

let h: Harness | undefined;
const peers: Peer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await h?.stop();
  h = undefined;
});

async function peer(from: string): Promise<Peer> {
  const p = await Peer.connect((h as Harness).port, from);
  peers.push(p);
  return p;
}

const from = (ip: string): ProxyHeader => ({
  version: 2,
  command: 'PROXY',
  addresses: { family: 4, source: { ip, port: 1000 }, destination: { ip: '192.0.2.1', port: 143 } },
});

describe('per-IP connection limit', () => {
  it('refuses the connection over the limit with the protocol goodbye, and frees the slot on close', async () => {
    h = await startHarness({ maxConnectionsPerIp: 2 });
    const a = await peer('127.0.16.30');
    await peer('127.0.16.30');
    await h.nth(2);
    const over = await peer('127.0.16.30');
    await over.waitFor('* BYE Too many connections\r\n');
    await over.expectClosed();
    expect(h.accepted).toHaveLength(2);
    expect(h.log.entries.some((e) => e.message.includes('too many') && e.fields.ip === '127.0.16.30')).toBe(true);

    await peer('127.0.16.31');
    await h.nth(3);

    a.destroy();
    await until(() => h?.listener.connections === 2);
    const again = await peer('127.0.16.30');
    await h.nth(4);
    again.write('ok\r\n');
    await again.waitFor('ECHO ok\r\n');
  });

  it('counts the client behind the PROXY header, not the proxy', async () => {
    h = await startHarness({ haproxy: true, maxConnectionsPerIp: 1 });
    const p1 = await peer(TRUSTED_PROXY);
    p1.write(encodeV2(from('198.51.100.1')));
    const p2 = await peer(TRUSTED_PROXY);
    p2.write(encodeV2(from('198.51.100.2')));
    await h.nth(2);
    const p3 = await peer(TRUSTED_PROXY);
    p3.write(encodeV2(from('198.51.100.1')));
    await p3.waitFor('* BYE Too many connections\r\n');
    await p3.expectClosed();
    expect(h.accepted.map((c) => c.info.clientIp).sort()).toEqual(['198.51.100.1', '198.51.100.2']);
  });
});

describe('shutdown', () => {
  it('stopAccepting keeps existing connections; closeAll says goodbye and closes them', async () => {
    h = await startHarness({ haproxy: true });
    const a = await peer(TRUSTED_PROXY);
    a.write(encodeV2(from('198.51.100.1')));
    const b = await peer(TRUSTED_PROXY);
    b.write(encodeV2(from('198.51.100.2')));
    await h.nth(2);
    // still waiting for its PROXY header: no protocol to say goodbye in yet
    const mid = await peer(TRUSTED_PROXY);
    await until(() => h?.listener.connections === 3);

    await h.listener.stopAccepting();
    await expect(
      new Promise((resolve, reject) => {
        const s = connect({ host: LISTEN_IP, port: (h as Harness).port, localAddress: TRUSTED_PROXY });
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    a.write('still here\r\n');
    await a.waitFor('ECHO still here\r\n');

    h.listener.closeAll();
    await a.waitFor('* BYE Server shutting down.\r\n');
    await b.waitFor('* BYE Server shutting down.\r\n');
    await Promise.all([a.expectClosed(), b.expectClosed(), mid.expectClosed()]);
    expect(mid.text).toBe('');
    await until(() => h?.listener.connections === 0);
  });

  it('closeAll takes the goodbye line it is given', async () => {
    h = await startHarness();
    const a = await peer('127.0.16.40');
    await h.nth(1);
    h.listener.closeAll('* BYE Going away\r\n');
    await a.waitFor('* BYE Going away\r\n');
    await a.expectClosed();
  });

  it('closeAll destroys a connection whose client does not read', async () => {
    // the handler fills the socket buffers so the goodbye can never be flushed
    h = await startHarness({}, async (conn) => {
      conn.write(Buffer.alloc(16 * 1024 * 1024));
    });
    const a = await peer('127.0.16.41');
    a.socket.pause();
    const conn = await h.nth(1);
    await new Promise((r) => setTimeout(r, 50));
    h.listener.closeAll();
    expect(h.listener.connections).toBe(0);
    await until(() => conn.socket.destroyed, 5000);
  });
});

describe('handler failures', () => {
  it('a rejecting or throwing handler costs its connection only', async () => {
    let calls = 0;
    const handler = (conn: ClientConnection): Promise<void> => {
      calls++;
      if (calls === 1) throw new Error('sync boom');
      conn.write('hi\r\n');
      return Promise.reject(new Error('async boom'));
    };
    h = await startHarness({}, handler);
    const a = await peer('127.0.16.42');
    await a.expectClosed();
    const b = await peer('127.0.16.42');
    await b.waitFor('hi\r\n');
    await b.expectClosed();
    const errors = h.log.entries.filter((e) => e.level === 'error').map((e) => e.fields.error);
    expect(errors).toEqual(['sync boom', 'async boom']);
    await until(() => h?.listener.connections === 0);
  });
});
