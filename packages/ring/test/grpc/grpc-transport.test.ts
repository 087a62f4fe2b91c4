import { createServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { RingLink } from '../../src/index.js';
import { CertDir, comparable, everyKind, observe, transportFactory, waitFor } from './helpers.js';

// This file owns ports 47100-47199 on 127.0.8.1-127.0.8.6; the other gRPC test files use other ports.
let nextPort = 47100;
const ids = (...ips: string[]) => {
  const port = nextPort++;
  return ips.map((ip) => `${ip}:${port}`);
};

const certs = new CertDir(['127.0.8.1', '127.0.8.2', '127.0.8.3', '127.0.8.4', '127.0.8.5']);
const strangers = new CertDir(['127.0.8.4']);
afterAll(() => {
  certs.remove();
  strangers.remove();
});

const { transport, listening } = transportFactory(certs);

describe('GrpcTransport with mutual TLS', () => {
  it('three nodes exchange every message kind in both directions', async () => {
    const members = ids('127.0.8.1', '127.0.8.2', '127.0.8.3');
    const [a, b, c] = await Promise.all(members.map((id) => listening(id, members)));
    if (!a || !b || !c) throw new Error('unreachable');
    const pairs: [typeof a, typeof b][] = [
      [a, b],
      [a, c],
      [b, c],
    ];
    for (const [from, to] of pairs) {
      const out = await from.t.connect(to.t.self);
      const seenOut = observe(out);
      await waitFor('inbound link', () => to.inbound.length > 0);
      const inn = to.inbound.shift() as RingLink;
      const seenIn = observe(inn);
      expect([out.peer, out.direction, inn.peer, inn.direction]).toEqual([
        to.t.self,
        'outbound',
        from.t.self,
        'inbound',
      ]);

      const messages = everyKind();
      for (const m of messages) expect(out.send(m)).toBe(true);
      for (const m of [...messages].reverse()) expect(inn.send(m)).toBe(true);
      await waitFor(
        'all messages',
        () => seenIn.messages.length === messages.length && seenOut.messages.length === messages.length,
      );
      expect(comparable(seenIn.messages)).toEqual(comparable(messages));
      expect(comparable(seenOut.messages)).toEqual(comparable([...messages].reverse()));
      expect(out.buffered).toBe(0);
    }
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const members = ids('127.0.8.1', '127.0.8.4');
    const server = await listening(members[0] as string, members);
    // Trusts the cluster CA (it is public) but can only show a certificate from its own.
    const tls = { ...strangers.tls('127.0.8.4'), ca: certs.file('ca.pem') };
    const intruder = transport(members[1] as string, members, { tls });
    await expect(intruder.t.connect(server.t.self)).rejects.toThrow(/ring link to .* failed: UNAVAILABLE/);
    // Refused at the TLS handshake, before any call exists to hand over; still logged (tls-refusal.test.ts).
    expect(server.inbound).toHaveLength(0);
    await waitFor('refusal logged', () => server.log.entries.some((e) => e.message === 'ring peer refused'));
    const refused = server.log.entries.find((e) => e.message === 'ring peer refused');
    expect(refused?.level).toBe('warn');
    expect(String(refused?.fields?.reason)).toMatch(/^tls handshake failed: .*not issued by the ring CA/);
  });

  it('refuses a server whose certificate comes from another CA', async () => {
    const members = ids('127.0.8.4', '127.0.8.1');
    const server = await listening(members[0] as string, members, { tls: strangers.tls('127.0.8.4') });
    const client = transport(members[1] as string, members);
    await expect(client.t.connect(server.t.self)).rejects.toThrow(/UNAVAILABLE/);
    expect(server.inbound).toHaveLength(0);
  });

  it('refuses and logs a valid certificate whose node is not a member', async () => {
    const [serverId, outsiderId] = ids('127.0.8.1', '127.0.8.4') as [string, string];
    const server = await listening(serverId, [serverId]);
    const outsider = transport(outsiderId, [serverId, outsiderId]);
    await expect(outsider.t.connect(serverId)).rejects.toThrow(/PERMISSION_DENIED .*not a ring member/);
    const refused = server.log.entries.find((e) => e.message === 'ring peer refused');
    expect(refused?.level).toBe('warn');
    expect(refused?.fields).toMatchObject({ claimed: outsiderId });
    expect(String(refused?.fields?.reason)).toMatch(/not a ring member/);
    expect(server.inbound).toHaveLength(0);
  });

  it("refuses a node claiming another member's id with its own certificate", async () => {
    const [serverId, victimId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const server = await listening(serverId, [serverId, victimId]);
    // Holds a good certificate from the cluster CA, but for 127.0.8.4, and says it is 127.0.8.2.
    const impostor = transport(victimId, [serverId], { tls: certs.tls('127.0.8.4') });
    await expect(impostor.t.connect(serverId)).rejects.toThrow(/UNAUTHENTICATED .*does not name 127\.0\.8\.2/);
    const refused = server.log.entries.find((e) => e.message === 'ring peer refused');
    expect(String(refused?.fields?.reason)).toMatch(/claims 127\.0\.8\.2:\d+ but its certificate .*127\.0\.8\.4/);
    expect(server.inbound).toHaveLength(0);
  });

  it('refuses a server whose certificate names another IP than the one dialled', async () => {
    const [serverId, clientId] = ids('127.0.8.5', '127.0.8.1') as [string, string];
    await listening(serverId, [serverId, clientId], { tls: certs.tls('127.0.8.4') });
    const client = transport(clientId, [serverId, clientId]);
    await expect(client.t.connect(serverId)).rejects.toThrow(/UNAVAILABLE .*does not name 127\.0\.8\.5/);
  });

  it('rejects a connect to an address nobody listens on', async () => {
    const [clientId, nobody] = ids('127.0.8.1', '127.0.8.6') as [string, string];
    const client = transport(clientId, []);
    const t0 = Date.now();
    await expect(client.t.connect(nobody)).rejects.toThrow(/UNAVAILABLE/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('gives up after connectTimeoutMs when the peer accepts TCP but never answers', async () => {
    const [clientId, silentId] = ids('127.0.8.1', '127.0.8.6') as [string, string];
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(Number(silentId.split(':')[1]), '127.0.8.6', resolve));
    try {
      const client = transport(clientId, [], { connectTimeoutMs: 300 });
      const t0 = Date.now();
      await expect(client.t.connect(silentId)).rejects.toThrow(/no answer within 300 ms/);
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('tells the other side when either closes a link, with the reason from the server side', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const members = [aId, bId];
    const a = transport(aId, members);
    const b = await listening(bId, members);

    const out1 = await a.t.connect(bId);
    const seenOut1 = observe(out1);
    await waitFor('inbound', () => b.inbound.length === 1);
    const seenIn1 = observe(b.inbound[0] as RingLink);
    out1.send({ kind: 'ping', sentMs: 1 });
    out1.close('client is done');
    expect(out1.send({ kind: 'ping', sentMs: 2 })).toBe(false);
    await waitFor('server sees the close', () => seenIn1.closed !== undefined);
    expect(seenOut1.closed).toBe('client is done');
    expect(seenIn1.closed).toBe('peer closed the link');
    // queued before the close, so still delivered
    expect(seenIn1.messages).toEqual([{ kind: 'ping', sentMs: 1 }]);

    const out2 = await a.t.connect(bId);
    const seenOut2 = observe(out2);
    await waitFor('inbound', () => b.inbound.length === 2);
    const in2 = b.inbound[1] as RingLink;
    in2.send({ kind: 'pong', sentMs: 3 });
    in2.close('server protocol mismatch');
    await waitFor('client sees the close', () => seenOut2.closed !== undefined);
    expect(seenOut2.closed).toBe('peer closed the link: server protocol mismatch');
    expect(seenOut2.messages).toEqual([{ kind: 'pong', sentMs: 3 }]);
  });

  it('closing the transport closes its links on both sides', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const a = await listening(aId, [aId, bId]);
    const b = await listening(bId, [aId, bId]);
    const out = observe(await a.t.connect(bId));
    const back = observe(await b.t.connect(aId));
    await waitFor('inbound links', () => a.inbound.length === 1 && b.inbound.length === 1);
    const inA = observe(a.inbound[0] as RingLink);
    const inB = observe(b.inbound[0] as RingLink);
    await b.t.close();
    await waitFor('all four ends closed', () => [out, back, inA, inB].every((s) => s.closed !== undefined));
    expect(inB.closed).toBe('transport closed');
    expect(out.closed).toBe('peer closed the link: transport closed');
    await expect(b.t.connect(aId)).rejects.toThrow(/closed/);
  });
});

describe('GrpcTransport link delivery', () => {
  it('keeps frames that arrive before the ring listens, and reports the close after them', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const members = [aId, bId];
    const b = transport(bId, members);
    // answers every link with a hello and hangs up at once
    await b.t.listen((link) => {
      link.send({ kind: 'ping', sentMs: 7 });
      link.close('bye');
    });
    const a = transport(aId, members);
    const out = await a.t.connect(bId);
    await new Promise((r) => setTimeout(r, 100));
    const seen = observe(out);
    await waitFor('close', () => seen.closed !== undefined);
    expect(seen.messages).toEqual([{ kind: 'ping', sentMs: 7 }]);
    expect(seen.closed).toBe('peer closed the link: bye');
  });

  it('closes the link, not the process, when a message handler throws', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const members = [aId, bId];
    const b = await listening(bId, members);
    const out = await transport(aId, members).t.connect(bId);
    const outSeen = observe(out);
    await waitFor('inbound', () => b.inbound.length === 1);
    const inn = b.inbound[0] as RingLink;
    inn.onMessage(() => {
      throw new Error('ring bug');
    });
    const inSeen = observe(inn);
    out.send({ kind: 'ping', sentMs: 1 });
    out.send({ kind: 'ping', sentMs: 2 });
    await waitFor('both closed', () => inSeen.closed !== undefined && outSeen.closed !== undefined);
    expect(inSeen.closed).toBe('message handler failed on ping');
    expect(b.log.entries.some((e) => e.message === 'ring message handler failed' && e.level === 'error')).toBe(true);
  });
});

describe('GrpcTransport without TLS', () => {
  it('works when configured, warns, and still admits members only', async () => {
    const [aId, bId, cId] = ids('127.0.8.1', '127.0.8.2', '127.0.8.3') as [string, string, string];
    const a = await listening(aId, [aId, bId], { tls: 'insecure' });
    const b = transport(bId, [aId, bId], { tls: 'insecure' });
    expect(a.log.entries.some((e) => e.level === 'warn' && /insecure/.test(e.message))).toBe(true);

    const out = await b.t.connect(aId);
    await waitFor('inbound', () => a.inbound.length === 1);
    const seen = observe(a.inbound[0] as RingLink);
    for (const m of everyKind()) out.send(m);
    await waitFor('messages', () => seen.messages.length === everyKind().length);
    expect(comparable(seen.messages)).toEqual(comparable(everyKind()));

    const c = transport(cId, [aId], { tls: 'insecure' });
    await expect(c.t.connect(aId)).rejects.toThrow(/PERMISSION_DENIED/);
  });

  it('closes a link that sends a frame it cannot decode', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const a = await listening(aId, [aId, bId], { tls: 'insecure' });
    const client = new grpc.Client(aId, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('x-usher-node', bId);
    const raw = (b: Buffer) => b;
    const call = client.makeBidiStreamRequest<Buffer, Buffer>('/usher.v1.Ring/Link', raw, raw, metadata);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    call.write(Buffer.from([0x0a, 0xff, 0xff]));
    await waitFor('inbound', () => a.inbound.length === 1);
    const seen = observe(a.inbound[0] as RingLink);
    await waitFor('closed', () => seen.closed !== undefined);
    expect(seen.closed).toMatch(/^bad frame: undecodable frame/);
    expect((await status).metadata.get('x-usher-close-reason')[0]).toMatch(/^bad frame/);
    expect(a.log.entries.some((e) => e.message === 'ring frame refused')).toBe(true);
    client.close();
  });

  it('an insecure client cannot reach a TLS server', async () => {
    const [aId, bId] = ids('127.0.8.1', '127.0.8.2') as [string, string];
    const a = await listening(aId, [aId, bId]);
    const b = transport(bId, [aId, bId], { tls: 'insecure' });
    await expect(b.t.connect(aId)).rejects.toThrow(/ring link to .* failed/);
    expect(a.inbound).toHaveLength(0);
  });
});
