import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, FAULTY, type LmtpEnv, type TestProxy } from './lmtp-env.js';
import { findDeliveries, swaks, uniqueMarker } from './lmtp-harness.js';

const codes = (replies: string[]) => replies.map((r) => r.slice(0, 3));

export function deliveryCases(env: LmtpEnv): void {
  describe('delivery to three real Dovecot backends', () => {
    let main: TestProxy;
    beforeAll(async () => {
      main = await env.proxy(10024);
    });

    it('delivers one transaction to three users on three backends, each exactly once', async () => {
      const marker = uniqueMarker('three');
      const r = await swaks(main.port, [
        '--to',
        main.addrs.join(','),
        '--header',
        `Subject: ${marker}`,
        '--local-interface',
        '127.0.15.1',
      ]);
      expect(r.rcptReplies).toEqual(['250 2.1.5 OK', '250 2.1.5 OK', '250 2.1.5 OK']);
      expect(r.dataReplies).toHaveLength(3);
      expect(r.dataReplies).toEqual(
        main.addrs.map((addr) => expect.stringMatching(new RegExp(`^250 2\\.0\\.0 <${addr}> .*Saved`))),
      );
      expect(r.exitCode).toBe(0);
      expect(findDeliveries(env.cluster, marker)).toHaveLength(3);
      for (const [i, ip] of BACKENDS.entries()) {
        const user = main.users[i] as string;
        const stored = env.expectDeliveredOnce(marker, ip, user);
        // XCLIENT: the backend names the MTA and its address, not the proxy
        expect(stored).toMatch(/Received: from mta\.test \(\[127\.0\.15\.1\]\)/);
        const found = await env.cluster.doveadm(ip, [
          'search',
          '-u',
          user,
          'mailbox',
          'INBOX',
          'header',
          'Subject',
          marker,
        ]);
        expect(found.trim().split('\n')).toHaveLength(1);
      }
    });

    it('passes a 5 MB message through byte-identical, dot-stuffed lines included', async () => {
      const marker = uniqueMarker('big');
      const lines = [
        'From: sender@usher.test',
        `Subject: ${marker}`,
        '',
        '.leading dot',
        '..two dots',
        '.',
        'after a lone dot',
      ];
      const b64 = randomBytes(3_800_000).toString('base64');
      for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
      const original = Buffer.from(`${lines.join('\n')}\nend\n`, 'latin1');
      expect(original.length).toBeGreaterThan(5_000_000);
      const file = join(env.root, 'big.eml');
      writeFileSync(file, original);
      const to = [main.addrs[0], main.addrs[2]];
      const r = await swaks(main.port, ['--to', to.join(','), '--data', `@${file}`, '--suppress-data']);
      expect(codes(r.dataReplies)).toEqual(['250', '250']);
      for (const i of [0, 2]) {
        const stored = Buffer.from(
          env.expectDeliveredOnce(marker, BACKENDS[i] as string, main.users[i] as string),
          'latin1',
        );
        // Dovecot prepends its trace headers and swaks appends one line end; the rest is ours, unchanged
        const tail = stored.subarray(stored.length - original.length - 1, stored.length - 1);
        expect(tail.equals(original)).toBe(true);
      }
    }, 60_000);

    it("relays a backend's 5xx for an unknown user while the others get 250", async () => {
      const marker = uniqueMarker('unknown');
      const to = [main.addrs[0], 'nobody-here@demo.test', main.addrs[1]];
      const r = await swaks(main.port, ['--to', to.join(','), '--header', `Subject: ${marker}`]);
      expect(r.rcptReplies[0]).toBe('250 2.1.5 OK');
      expect(r.rcptReplies[1]).toMatch(/^550 5\.1\.1 <nobody-here@demo\.test> User doesn't exist/);
      expect(r.rcptReplies[2]).toBe('250 2.1.5 OK');
      expect(codes(r.dataReplies)).toEqual(['250', '250']);
      expect(
        findDeliveries(env.cluster, marker)
          .map((f) => f.user)
          .sort(),
      ).toEqual([main.users[0], main.users[1]].sort());
    });

    it('uses one backend connection for all recipients on that backend', async () => {
      const viaFault = await env.proxy(10030, [FAULTY]);
      const users = env.cluster.users.slice(0, 3);
      const marker = uniqueMarker('shared');
      const before = env.fault.accepted;
      const r = await swaks(viaFault.port, [
        '--to',
        users.map((u) => `${u}@demo.test`).join(','),
        '--header',
        `Subject: ${marker}`,
      ]);
      expect(codes(r.dataReplies)).toEqual(['250', '250', '250']);
      expect(env.fault.accepted).toBe(before + 1);
      const stored = findDeliveries(env.cluster, marker).map((f) => `${f.user}@${f.ip}`);
      expect(stored.sort()).toEqual(users.map((u) => `${u}@127.0.5.2`).sort());
    });

    it('works with PIPELINING (swaks --pipeline)', async () => {
      const marker = uniqueMarker('pipe');
      const r = await swaks(main.port, ['--pipeline', '--to', main.addrs.join(','), '--header', `Subject: ${marker}`]);
      // one batch: MAIL, RCPTs and DATA all went out before the first reply came back
      expect(r.out).toMatch(
        /^ -> MAIL FROM:.*\n -> RCPT TO:.*\n -> RCPT TO:.*\n -> RCPT TO:.*\n -> DATA\n<- {2}250 2\.1\.0 OK/m,
      );
      expect(r.rcptReplies).toEqual(['250 2.1.5 OK', '250 2.1.5 OK', '250 2.1.5 OK']);
      expect(codes(r.dataReplies)).toEqual(['250', '250', '250']);
      for (const [i, ip] of BACKENDS.entries()) env.expectDeliveredOnce(marker, ip, main.users[i] as string);
    });

    it('upgrades with STARTTLS (swaks --tls) and delivers', async () => {
      const tlsProxy = await env.proxy(10025, BACKENDS, { tls: env.certs.context });
      const marker = uniqueMarker('tls');
      const r = await swaks(tlsProxy.port, [
        '--tls',
        '--to',
        tlsProxy.addrs.join(','),
        '--header',
        `Subject: ${marker}`,
      ]);
      expect(r.out).toMatch(/220 2\.0\.0 Begin TLS negotiation now\./);
      expect(r.out).toMatch(/^=== TLS started/m);
      const afterTls = r.out.slice(r.out.indexOf('=== TLS started'));
      expect(afterTls).toMatch(/^ ~> LHLO mta\.test/m);
      // after the upgrade STARTTLS is no longer offered
      expect(afterTls).not.toMatch(/250[- ]STARTTLS/);
      expect(codes(r.dataReplies)).toEqual(['250', '250', '250']);
      for (const [i, ip] of BACKENDS.entries()) env.expectDeliveredOnce(marker, ip, tlsProxy.users[i] as string);
    });
  });
}
