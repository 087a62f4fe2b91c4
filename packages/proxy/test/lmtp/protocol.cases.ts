import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../harness/raw-client.js';
import type { LmtpEnv, TestProxy } from './lmtp-env.js';
import { findDeliveries, PROXY_IP, swaks, uniqueMarker } from './lmtp-harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function session(port: number): Promise<RawClient> {
  const cl = await RawClient.connect(PROXY_IP, port);
  await cl.until(/^220 Usher LMTP ready\r\n/);
  return cl;
}

export function protocolCases(env: LmtpEnv): void {
  describe('the LMTP conversation', () => {
    let p: TestProxy;
    beforeAll(async () => {
      p = await env.proxy(10031);
    });

    it('enforces the command order and answers each command', async () => {
      const cl = await session(p.port);
      await cl.command('MAIL FROM:<a@b.c>', /^503 5\.5\.1 Send LHLO first\r\n/);
      await cl.command('EHLO client.test', /^500 5\.5\.1 This is LMTP: use LHLO\r\n/);
      await cl.command('LHLO', /^501 5\.5\.4 LHLO needs a domain name\r\n/);
      const caps = await cl.command('LHLO client.test', /^250 \S+\r\n/m);
      expect(caps).toBe('250-Usher\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n');
      await cl.command('RCPT TO:<x@demo.test>', /^503 5\.5\.1 MAIL needed first\r\n/);
      await cl.command('DATA', /^503 5\.5\.1 MAIL needed first\r\n/);
      await cl.command('MAIL FROM:<> FOO=1', /^555 5\.5\.4 Unsupported parameter FOO\r\n/);
      await cl.command('MAIL FROM:<not an address>', /^501 5\.1\.7 Invalid sender: .*\r\n/);
      await cl.command('MAIL FROM:<> BODY=8BITMIME', /^250 2\.1\.0 OK\r\n/);
      await cl.command('MAIL FROM:<a@b.c>', /^503 5\.5\.1 MAIL already given\r\n/);
      await cl.command('RCPT TO:<>', /^501 5\.1\.3 Invalid recipient: .*\r\n/);
      await cl.command('RCPT TO:<nobody-at-all@demo.test>', /^550 5\.1\.1 .*\r\n/);
      await cl.command('DATA', /^554 5\.5\.1 No valid recipients\r\n/);
      await cl.command('VRFY someone', /^252 2\.3\.3 Try RCPT instead\r\n/);
      await cl.command('NOOP', /^250 2\.0\.0 OK\r\n/);
      await cl.command('RSET', /^250 2\.0\.0 OK\r\n/);
      await cl.command('RCPT TO:<x@demo.test>', /^503 5\.5\.1 MAIL needed first\r\n/);
      await cl.command('STARTTLS', /^502 5\.5\.1 STARTTLS not available\r\n/);
      await cl.command('QUIT', /^221 2\.0\.0 Bye\r\n/);
      await cl.waitClosed();
    });

    it('keeps pipelined commands that follow the end of a body', async () => {
      const [a, b] = [p.addrs[0], p.addrs[1]];
      const m1 = uniqueMarker('pipe1');
      const m2 = uniqueMarker('pipe2');
      const cl = await session(p.port);
      cl.send(`LHLO client.test\r\nMAIL FROM:<s@usher.test>\r\nRCPT TO:<${a}>\r\nDATA\r\n`);
      await cl.until(/^354 OK\r\n/m);
      cl.send(`Subject: ${m1}\r\n\r\none\r\n.\r\nMAIL FROM:<s@usher.test>\r\nRCPT TO:<${b}>\r\nDATA\r\n`);
      await cl.until(/^354 OK\r\n/m);
      cl.send(`Subject: ${m2}\r\n\r\ntwo\r\n.\r\nQUIT\r\n`);
      const rest = await cl.until(/^221 2\.0\.0 Bye\r\n/m);
      expect(rest).toMatch(new RegExp(`^250 2\\.0\\.0 <${b}> .*\\r\\n221 `, 'm'));
      await cl.waitClosed();
      env.expectDeliveredOnce(m1, env.cluster.backends[0]?.ip as string, p.users[0] as string);
      env.expectDeliveredOnce(m2, env.cluster.backends[1]?.ip as string, p.users[1] as string);
    });

    it('ends a bare-LF body exactly where the backend does (no smuggling past the proxy)', async () => {
      const [a, b] = [p.addrs[0], p.addrs[1]];
      const marker = uniqueMarker('smuggle');
      const cl = await session(p.port);
      cl.send(`LHLO client.test\r\nMAIL FROM:<s@usher.test>\r\nRCPT TO:<${a}>\r\nDATA\r\n`);
      await cl.until(/^354 OK\r\n/m);
      cl.send(`Subject: ${marker}\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<${b}>\r\nDATA\r\nsmuggled\r\n.\r\n`);
      // the proxy ends the body where the backend does: at the bare-LF dot line
      await cl.until(/^250 2\.0\.0 .*Saved\r\n/m);
      // ...and what followed is the client's next transaction, routed and answered by the proxy itself
      await cl.until(/^250 2\.1\.0 OK\r\n250 2\.1\.5 OK\r\n354 OK\r\n250 2\.0\.0 .*Saved\r\n/m);
      await cl.command('QUIT', /^221 .*\r\n/m);
      const stored = env.expectDeliveredOnce(marker, env.cluster.backends[0]?.ip as string, p.users[0] as string);
      expect(stored).not.toMatch(/evil|smuggled/);
      expect(findDeliveries(env.cluster, marker)).toHaveLength(1);
    });

    it('refuses oversized messages with 552 and stays usable', async () => {
      const small = await env.proxy(10032, undefined, { limits: { lmtpMaxMessageSize: 50_000 } });
      const marker = uniqueMarker('size');
      const cl = await session(small.port);
      expect(await cl.command('LHLO client.test', /^250 \S.*\r\n/m)).toMatch(/^250[- ]SIZE 50000\r\n/m);
      await cl.command('MAIL FROM:<s@usher.test> SIZE=60000', /^552 5\.3\.4 .*\r\n/);
      await cl.command('MAIL FROM:<s@usher.test> SIZE=1000', /^250 2\.1\.0 OK\r\n/);
      await cl.command(`RCPT TO:<${small.addrs[0]}>`, /^250 .*\r\n/);
      await cl.command(`RCPT TO:<${small.addrs[1]}>`, /^250 .*\r\n/);
      await cl.command('DATA', /^354 OK\r\n/);
      cl.send(`Subject: ${marker}\r\n\r\n${'z'.repeat(78)}\r\n`.repeat(1500));
      cl.send('.\r\n');
      const replies = await cl.until(new RegExp(`^552 5\\.3\\.4 <${small.addrs[1]}> .*\\r\\n`, 'm'), 10_000);
      expect(replies).toMatch(new RegExp(`^552 5\\.3\\.4 <${small.addrs[0]}> Message too big for system\\r\\n`, 'm'));
      await cl.command('NOOP', /^250 2\.0\.0 OK\r\n/);
      await cl.command('QUIT', /^221 .*\r\n/);
      await sleep(200);
      expect(findDeliveries(env.cluster, marker)).toEqual([]);
    });

    it('closes on garbage without disturbing a parallel delivery', async () => {
      const marker = uniqueMarker('parallel');
      const delivery = swaks(p.port, [
        '--to',
        p.addrs.join(','),
        '--header',
        `Subject: ${marker}`,
        '--body',
        env.bodyFile('parallel.txt', `${'q'.repeat(70)}\n`.repeat(20_000)),
      ]);
      const noisy = await session(p.port);
      for (let i = 0; i < 5; i++)
        noisy.send(
          `${randomBytes(40)
            .toString('latin1')
            .replace(/[\r\n]/g, '')}\r\n`,
        );
      const said = await noisy.until(/^421 4\.7\.0 Usher Too many invalid commands, closing connection\r\n/m);
      expect(said.match(/^500 /gm)).toHaveLength(5);
      await noisy.waitClosed();
      const longLine = await session(p.port);
      longLine.send('x'.repeat(100_000));
      await longLine.until(/^500 5\.5\.2 Line too long\r\n/);
      await longLine.waitClosed();
      const r = await delivery;
      expect(r.dataReplies.map((x) => x.slice(0, 3))).toEqual(['250', '250', '250']);
      expect(findDeliveries(env.cluster, marker)).toHaveLength(3);
    }, 30_000);

    it('stores nothing when the client vanishes mid-DATA, and keeps serving', async () => {
      const marker = uniqueMarker('vanish');
      const cl = await session(p.port);
      cl.send(
        `LHLO client.test\r\nMAIL FROM:<s@usher.test>\r\nRCPT TO:<${p.addrs[0]}>\r\nRCPT TO:<${p.addrs[2]}>\r\nDATA\r\n`,
      );
      await cl.until(/^354 OK\r\n/m);
      cl.send(`Subject: ${marker}\r\n\r\n${'v'.repeat(70)}\r\n`.repeat(100));
      await sleep(100);
      cl.close();
      await sleep(500);
      expect(findDeliveries(env.cluster, marker)).toEqual([]);
      const r = await swaks(p.port, ['--to', p.addrs[0] as string, '--header', `Subject: ${uniqueMarker('after')}`]);
      expect(r.dataReplies.map((x) => x.slice(0, 3))).toEqual(['250']);
    });

    it('closes an idle client with 421', async () => {
      const idle = await env.proxy(10033, undefined, { idleTimeoutMs: 300 });
      const cl = await session(idle.port);
      await cl.until(/^421 4\.4\.2 Usher Idle timeout, closing connection\r\n/, 3000);
      await cl.waitClosed();
    });

    it('refuses plaintext pipelined after STARTTLS (command injection)', async () => {
      const tls = await env.proxy(10034, undefined, { tls: env.certs.context });
      const cl = await session(tls.port);
      expect(await cl.command('LHLO client.test', /^250 \S+\r\n/m)).toMatch(/^250[- ]STARTTLS\r\n/m);
      cl.send('STARTTLS\r\nMAIL FROM:<injected@x>\r\n');
      await cl.until(/^220 2\.0\.0 Begin TLS negotiation now\.\r\n/);
      await cl.waitClosed();
      expect(cl.transcript).not.toMatch(/250 2\.1\.0/);
    });
  });
}
