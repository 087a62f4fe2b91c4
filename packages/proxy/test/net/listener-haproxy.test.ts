import { NetworkList, type ProxyHeader } from '@usher/proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, Peer, sleep, startHarness, TRUSTED_PROXY, UNTRUSTED_PROXY } from './listener-harness.js';
import { encodeV1, encodeV2, encodeV2Raw, sslTlv, tlv } from './proxy-encode.js';

const CLIENT: ProxyHeader = {
  version: 2,
  command: 'PROXY',
  addresses: { family: 4, source: { ip: '203.0.113.5', port: 50123 }, destination: { ip: '192.0.2.143', port: 143 } },
};

let h: Harness | undefined;
const peers: Peer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await h?.stop();
  h = undefined;
});

async function connect(from: string): Promise<Peer> {
  const p = await Peer.connect((h as Harness).port, from);
  peers.push(p);
  return p;
}

describe('haproxy listener', () => {
  it('PROXY v1 from a trusted source: the session sees the real client', async () => {
    h = await startHarness({ haproxy: true, loginTrusted: NetworkList.parse('203.0.113.0/24') });
    const p = await connect(TRUSTED_PROXY);
    p.write(Buffer.concat([encodeV1({ ...CLIENT, version: 1 }), Buffer.from('a1 NOOP\r\n')]));
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({
      clientIp: '203.0.113.5',
      clientPort: 50123,
      localIp: '192.0.2.143',
      localPort: 143,
      trusted: true,
    });
    expect(conn.info.proxiedTls).toBeUndefined();
    expect(conn.info.sessionId).toMatch(/^[A-Za-z0-9+/]{22}$/);
    // the bytes that came with the header are the protocol's first command
    await p.waitFor('ECHO a1 NOOP\r\n');
  });

  it('PROXY v2 with TLVs: SSL marks the client side as TLS', async () => {
    h = await startHarness({ haproxy: true });
    const p = await connect(TRUSTED_PROXY);
    p.write(encodeV2(CLIENT, [tlv(0x02, 'imap.example.org'), sslTlv(0x01, 0, [tlv(0x21, 'TLSv1.3')]), tlv(0xee, 'x')]));
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({ clientIp: '203.0.113.5', trusted: false, proxiedTls: true });
    expect(conn.tls).toBe(true);
    expect(conn.secured).toBe(true);
    p.write('hello\r\n');
    await p.waitFor('ECHO hello\r\n');
  });

  it('PROXY v2 with an IPv4-mapped IPv6 client reports plain IPv4', async () => {
    h = await startHarness({ haproxy: true });
    const p = await connect(TRUSTED_PROXY);
    const mapped = {
      family: 6,
      source: { ip: '::ffff:198.51.100.9', port: 1 },
      destination: { ip: '2001:db8::143', port: 143 },
    } as const;
    p.write(encodeV2({ version: 2, command: 'PROXY', addresses: mapped }));
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({ clientIp: '198.51.100.9', localIp: '2001:db8::143' });
  });

  it('v2 LOCAL and v1 UNKNOWN use the socket addresses', async () => {
    h = await startHarness({ haproxy: true, loginTrusted: NetworkList.parse(TRUSTED_PROXY) });
    const p1 = await connect(TRUSTED_PROXY);
    p1.write(encodeV2Raw({ command: 'LOCAL', famByte: 0x00, addressBlock: Buffer.alloc(0) }));
    const local = await h.nth(1);
    expect(local.info).toMatchObject({
      clientIp: TRUSTED_PROXY,
      clientPort: p1.socket.localPort,
      localIp: '127.0.6.1',
      localPort: h.port,
      trusted: true,
    });
    const p2 = await connect(TRUSTED_PROXY);
    p2.write('PROXY UNKNOWN\r\nx\r\n');
    const unknown = await h.nth(2);
    expect(unknown.info).toMatchObject({ clientIp: TRUSTED_PROXY, localPort: h.port });
    await p2.waitFor('ECHO x\r\n');
  });

  it('a header split into 1-byte writes still arrives whole', async () => {
    h = await startHarness({ haproxy: true });
    const p = await connect(TRUSTED_PROXY);
    const wire = Buffer.concat([encodeV2(CLIENT, [sslTlv(0x01, 0), tlv(0x02, 'a.example')]), Buffer.from('one\r\n')]);
    for (const byte of wire) {
      p.write(Buffer.from([byte]));
      await sleep(1);
    }
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({ clientIp: '203.0.113.5', proxiedTls: true });
    await p.waitFor('ECHO one\r\n');
  });

  it('closes a connection from outside haproxy_trusted_networks, and logs it', async () => {
    h = await startHarness({ haproxy: true });
    const p = await connect(UNTRUSTED_PROXY);
    p.write(encodeV2(CLIENT));
    await p.expectClosed();
    expect(h.accepted).toHaveLength(0);
    expect(h.log.entries.some((e) => e.level === 'warn' && e.fields.ip === UNTRUSTED_PROXY)).toBe(true);
  });

  it('closes a trusted source that sends no header in time', async () => {
    h = await startHarness({ haproxy: true, haproxyTimeoutMs: 200 });
    const p = await connect(TRUSTED_PROXY);
    const started = Date.now();
    await p.expectClosed();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(h.accepted).toHaveLength(0);
  });

  it('closes a trusted source that sends half a header and stalls', async () => {
    h = await startHarness({ haproxy: true, haproxyTimeoutMs: 200 });
    const p = await connect(TRUSTED_PROXY);
    p.write(encodeV2(CLIENT).subarray(0, 20));
    await p.expectClosed();
    expect(h.accepted).toHaveLength(0);
  });

  it('closes at once on garbage instead of a header', async () => {
    h = await startHarness({ haproxy: true, haproxyTimeoutMs: 10_000 });
    const p = await connect(TRUSTED_PROXY);
    p.write('a1 LOGIN user pass\r\n');
    await p.expectClosed(1000);
    expect(h.accepted).toHaveLength(0);
    expect(p.text).toBe('');
  });

  it('closes at once on a huge declared v2 length', async () => {
    h = await startHarness({ haproxy: true, haproxyTimeoutMs: 10_000 });
    const p = await connect(TRUSTED_PROXY);
    p.write(encodeV2Raw({ command: 'PROXY', famByte: 0x11, addressBlock: Buffer.alloc(12), lengthField: 0xffff }));
    await p.expectClosed(1000);
    expect(h.accepted).toHaveLength(0);
  });
});

describe('listener without haproxy', () => {
  it('passes a PROXY header through to the protocol as ordinary data', async () => {
    h = await startHarness({ haproxy: false });
    const p = await connect(UNTRUSTED_PROXY);
    p.write('PROXY TCP4 203.0.113.5 192.0.2.143 50123 143\r\n');
    const conn = await h.nth(1);
    expect(conn.info).toMatchObject({
      clientIp: UNTRUSTED_PROXY,
      localIp: '127.0.6.1',
      localPort: h.port,
      trusted: false,
    });
    await p.waitFor('ECHO PROXY TCP4 203.0.113.5 192.0.2.143 50123 143\r\n');
  });

  it('marks login_trusted_networks clients as secured', async () => {
    h = await startHarness({ loginTrusted: NetworkList.parse('127.0.16.0/28') });
    await connect(TRUSTED_PROXY);
    await connect(UNTRUSTED_PROXY);
    await h.nth(2);
    const byIp = new Map(h.accepted.map((c) => [c.info.clientIp, c]));
    expect(byIp.get(TRUSTED_PROXY)?.secured).toBe(true);
    expect(byIp.get(UNTRUSTED_PROXY)?.secured).toBe(false);
  });
});
