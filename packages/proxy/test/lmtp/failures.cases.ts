import type { Router } from '@usher/core';
import { describe, expect, it } from 'vitest';
import { BACKENDS, DOWN, FAULTY, type LmtpEnv } from './lmtp-env.js';
import { findDeliveries, placementRouter, startLmtpProxy, swaks, uniqueMarker, usersPerHost } from './lmtp-harness.js';

const codes = (replies: string[]) => replies.map((r) => r.slice(0, 3));
const body = (ch: string) => `${ch.repeat(70)}\n`.repeat(4000);

export function failureCases(env: LmtpEnv): void {
  describe('when a backend fails', () => {
    it('answers 451 for a recipient whose backend is down; the others are delivered', async () => {
      const p = await env.proxy(10026, ['127.0.5.1', '127.0.5.3', DOWN]);
      const marker = uniqueMarker('down');
      const r = await swaks(p.port, ['--to', p.addrs.join(','), '--header', `Subject: ${marker}`]);
      expect(r.rcptReplies).toEqual([
        '250 2.1.5 OK',
        '250 2.1.5 OK',
        `451 4.4.0 <${p.addrs[2]}> Backend unavailable, try again later`,
      ]);
      expect(codes(r.dataReplies)).toEqual(['250', '250']);
      env.expectDeliveredOnce(marker, '127.0.5.1', p.users[0] as string);
      env.expectDeliveredOnce(marker, '127.0.5.3', p.users[1] as string);
    });

    it('answers 4xx for the recipient of a backend cut mid-DATA; the others are delivered', async () => {
      const p = await env.proxy(10027, ['127.0.5.1', FAULTY, '127.0.5.3']);
      const before = env.fault.faulted;
      env.fault.setMode({ kind: 'cut', afterBytes: 50_000 });
      const marker = uniqueMarker('cut');
      const r = await swaks(p.port, [
        '--to',
        p.addrs.join(','),
        '--header',
        `Subject: ${marker}`,
        '--body',
        env.bodyFile('cut.txt', body('x')),
      ]);
      env.fault.setMode({ kind: 'pass' });
      expect(env.fault.faulted).toBe(before + 1);
      expect(r.rcptReplies).toEqual(['250 2.1.5 OK', '250 2.1.5 OK', '250 2.1.5 OK']);
      expect(r.dataReplies[0]).toMatch(/^250 /);
      expect(r.dataReplies[1]).toBe(`451 4.4.2 <${p.addrs[1]}> Backend connection lost`);
      expect(r.dataReplies[2]).toMatch(/^250 /);
      // the cut backend (127.0.5.2 behind the fault proxy) stored nothing
      expect(
        findDeliveries(env.cluster, marker)
          .map((f) => f.ip)
          .sort(),
      ).toEqual(['127.0.5.1', '127.0.5.3']);
    }, 30_000);

    it('answers 4xx when a backend hangs mid-DATA past lmtpBackendTimeoutMs', async () => {
      const p = await env.proxy(10028, ['127.0.5.1', FAULTY, '127.0.5.3'], { limits: { lmtpBackendTimeoutMs: 1500 } });
      env.fault.setMode({ kind: 'stall', afterBytes: 50_000 });
      const marker = uniqueMarker('stall');
      const started = Date.now();
      const r = await swaks(p.port, [
        '--to',
        p.addrs.join(','),
        '--header',
        `Subject: ${marker}`,
        '--body',
        env.bodyFile('stall.txt', body('y')),
      ]);
      env.fault.setMode({ kind: 'pass' });
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(codes(r.dataReplies)).toEqual(['250', '451', '250']);
      expect(r.dataReplies[1]).toMatch(/^451 4\.4\.2 /);
      expect(
        findDeliveries(env.cluster, marker)
          .map((f) => f.ip)
          .sort(),
      ).toEqual(['127.0.5.1', '127.0.5.3']);
    }, 30_000);

    it('answers 451 4.3.0 when routing fails for a recipient', async () => {
      const router = placementRouter(BACKENDS);
      const failing: Router = {
        refreshIntervalMs: router.refreshIntervalMs,
        refresh: () => {},
        route: (user, tag) =>
          user.startsWith('unroutable') ? Promise.reject(new Error('ring busy')) : router.route(user, tag),
      };
      const p = await startLmtpProxy(10029, failing);
      env.track(p);
      const ok = `${usersPerHost(router, BACKENDS, env.cluster.users)[0]}@demo.test`;
      const r = await swaks(p.port, [
        '--to',
        `unroutable@demo.test,${ok}`,
        '--header',
        `Subject: ${uniqueMarker('route')}`,
      ]);
      expect(r.rcptReplies).toEqual([
        '451 4.3.0 <unroutable@demo.test> Temporary routing failure, try again later',
        '250 2.1.5 OK',
      ]);
      expect(codes(r.dataReplies)).toEqual(['250']);
    });
  });
}
