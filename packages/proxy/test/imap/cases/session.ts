import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_IPS, type ImapFixture } from '../helpers/cluster.js';
import { imapClient } from '../helpers/imap-client.js';
import { startTestProxy, type TestProxy } from '../helpers/proxy-server.js';
import { establishedTo, eventually, RawClient } from '../helpers/raw-client.js';
import { TestRouter } from '../helpers/router.js';

const PORT = 10151;

/** A message of about `size` bytes with CRLF line ends throughout, as IMAP stores and returns it. */
function bigMessage(size: number): Buffer {
  const head = 'From: a@demo.test\r\nTo: b@demo.test\r\nSubject: big\r\nMessage-ID: <big@demo.test>\r\n\r\n';
  const lines: string[] = [];
  let n = head.length;
  while (n < size) {
    const line = randomBytes(57).toString('base64');
    lines.push(line);
    n += line.length + 2;
  }
  return Buffer.from(`${head}${lines.join('\r\n')}\r\n`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function sessionCases(f: () => ImapFixture): void {
  describe('proxied sessions', () => {
    let proxy: TestProxy;
    let router: TestRouter;

    beforeAll(async () => {
      router = new TestRouter(BACKEND_IPS);
      proxy = await startTestProxy({ port: PORT, router, certs: f().certs, trusted: true });
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('relays IDLE: an append by another session arrives while idling', async () => {
      const idler = imapClient(PORT, 'demo0001', 'demo');
      const writer = imapClient(PORT, 'demo0001', 'demo');
      await idler.connect();
      await writer.connect();
      try {
        await idler.mailboxOpen('INBOX');
        const before = idler.mailbox ? idler.mailbox.exists : 0;
        const exists = new Promise<number>((resolve) => idler.on('exists', (e: { count: number }) => resolve(e.count)));
        const idling = idler.idle();
        await eventually(() => idler.idling, 5000, 'IDLE started');
        await writer.append('INBOX', Buffer.from('Subject: idle\r\n\r\nhello\r\n'));
        expect(await exists).toBe(before + 1);
        await idler.noop(); // ends IDLE (DONE goes through the splice too)
        await idling;
      } finally {
        await idler.logout();
        await writer.logout();
      }
    });

    it('round-trips a 10 MB message byte-exact (APPEND, then FETCH BODY[])', async () => {
      const message = bigMessage(10 * 1024 * 1024);
      const client = imapClient(PORT, 'demo0002', 'demo');
      await client.connect();
      try {
        const appended = await client.append('INBOX', message);
        expect(appended).toMatchObject({ uid: expect.any(Number) });
        const uid = appended ? appended.uid : 0;
        await client.mailboxOpen('INBOX');
        const fetched = await client.fetchOne(String(uid), { source: true }, { uid: true });
        const source = fetched ? fetched.source : undefined;
        expect(source?.length).toBe(message.length);
        expect(sha(source ?? Buffer.alloc(0))).toBe(sha(message));
      } finally {
        await client.logout();
      }
    }, 60_000);

    it('a kick says BYE and closes both sides', async () => {
      const user = 'demo0003';
      const backend = router.backendOf(user);
      const c = await RawClient.connect(PORT);
      c.send(`a LOGIN ${user} demo\r\n`);
      await c.expect(/^a OK \[CAPABILITY/m);
      await eventually(async () => (await f().cluster.who(backend)).some((w) => w.user === user));
      expect(proxy.ctx.registry.kickUser(user)).toBe(1);
      await c.expect(/^\* BYE Kicked by admin\r\n/m);
      await c.expectClosed();
      await eventually(
        async () => !(await f().cluster.who(backend)).some((w) => w.user === user),
        5000,
        'backend session gone',
      );
    });

    it('closes a client after 20 garbage lines (BAD, then BYE) without disturbing a concurrent session', async () => {
      const good = imapClient(PORT, 'demo0004', 'demo');
      await good.connect();
      try {
        await good.mailboxOpen('INBOX');
        const raw = await RawClient.connect(PORT);
        const garbage = [
          '',
          'x SELECT INBOX',
          '* NOOP',
          'y FETCH 1:* (FLAGS)',
          '\x01\x02\x03',
          'z LOGIN "unterminated',
          'q (((',
          'r BOGUS',
          'GET / HTTP/1.1',
          'Host: example',
          ...Array.from({ length: 10 }, (_, i) => `g${i} \xff\xfe{zz}`),
        ];
        expect(garbage).toHaveLength(20);
        const busy = (async () => {
          for (let i = 0; i < 20; i++) await good.noop();
          return good.status('INBOX', { messages: true });
        })();
        raw.send(garbage.map((l) => `${l}\r\n`).join(''));
        await raw.expectClosed();
        const bads = raw.transcript.match(/ BAD Error in IMAP command received by server\.\r\n/g) ?? [];
        expect(bads).toHaveLength(proxy.ctx.limits.maxBadCommands - 1);
        expect(raw.transcript.endsWith('* BYE Too many invalid IMAP commands.\r\n')).toBe(true);
        const status = await busy;
        expect(status).toMatchObject({ messages: expect.any(Number) });
      } finally {
        await good.logout();
      }
    });

    it('leaks no backend connection when the client leaves in the middle of a login', async () => {
      const user = 'demo0005';
      const backend = router.backendOf(user);
      await eventually(async () => (await establishedTo(backend, 143)) === 0, 5000, 'no earlier connections');
      // from "gone before the LOGIN was read" to "gone while the backend answers"
      for (const delay of [0, 0, 1, 2, 5, 10, 20, 40]) {
        const c = await RawClient.connect(PORT);
        c.send(`a LOGIN ${user} demo\r\n`);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        c.destroy();
      }
      await proxy.settled();
      expect(proxy.running).toBe(0);
      expect(proxy.ctx.registry.size).toBe(0);
      await eventually(async () => (await establishedTo(backend, 143)) === 0, 5000, 'backend sockets closed');
      await eventually(
        async () => !(await f().cluster.who(backend)).some((w) => w.user === user),
        5000,
        'no session left',
      );
    });
  });
}
