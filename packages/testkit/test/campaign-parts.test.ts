import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceChecker } from '../src/campaign/checker.js';
import { countFetched, keyOf, Ledger } from '../src/campaign/ledger.js';
import { LinkProxies } from '../src/campaign/link-proxy.js';
import { isInstant, makeSchedule, type ScheduleOptions } from '../src/campaign/schedule.js';
import type { DovecotCluster, WhoEntry } from '../src/dovecot-backend.js';

// This file owns 127.0.43.1-2 (echo servers standing in for ring nodes).

const OPTS: ScheduleOptions = {
  seed: 1,
  warmupMs: 5000,
  faultWindowMs: 100_000,
  nodes: 4,
  backends: 3,
  users: 20,
  meanGapMs: 3000,
  admin: true,
};

describe('fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(makeSchedule(OPTS)).toEqual(makeSchedule(OPTS));
    expect(makeSchedule({ ...OPTS, seed: 2 })).not.toEqual(makeSchedule(OPTS));
  });

  it('keeps every user a way in and heals everything inside the window', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const s = makeSchedule({ ...OPTS, seed });
      const end = OPTS.warmupMs + OPTS.faultWindowMs;
      const nodeDown: Array<[number, number]> = [];
      const backendDown: Array<[number, number]> = [];
      for (const { atMs, durationMs, fault } of s) {
        expect(atMs).toBeGreaterThanOrEqual(OPTS.warmupMs);
        expect(atMs + durationMs).toBeLessThanOrEqual(end);
        if (isInstant(fault)) expect(durationMs).toBe(0);
        else expect(durationMs).toBeGreaterThan(0);
        if (fault.kind === 'kill-node' || fault.kind === 'freeze-node' || fault.kind === 'isolate-node')
          nodeDown.push([atMs, atMs + durationMs]);
        if (fault.kind === 'stop-backend') backendDown.push([atMs, atMs + durationMs]);
      }
      // at most one node unreachable and one backend stopped at any time
      for (const spans of [nodeDown, backendDown]) {
        spans.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < spans.length; i++) expect(spans[i]?.[0]).toBeGreaterThan(spans[i - 1]?.[1] as number);
      }
    }
  });

  it('leaves admin operations out without an admin socket, and mixes them in with one', () => {
    const kinds = (admin: boolean) =>
      new Set(
        Array.from({ length: 20 }, (_, seed) => makeSchedule({ ...OPTS, seed, admin }))
          .flat()
          .map((f) => f.fault.kind),
      );
    expect([...kinds(false)].filter((k) => ['move-user', 'flush-host', 'remove-host', 'add-host'].includes(k))).toEqual(
      [],
    );
    expect(kinds(true)).toContain('move-user');
    expect(kinds(true)).toContain('remove-host');
  });
});

describe('ledger', () => {
  const MID = (n: number) => `<c1-l${n}@campaign.usher>`;

  it('accepts exactly one copy, and one more only for an ambiguous attempt', () => {
    const l = new Ledger();
    l.entry(MID(1), 'u1', 'lmtp').accepted = true;
    const amb = l.entry(MID(2), 'u1', 'lmtp');
    amb.accepted = true;
    amb.ambiguous = 1;
    l.entry(MID(3), 'u2', 'imap').accepted = false;
    const copies = new Map([
      [keyOf('u1', MID(1)), 1],
      [keyOf('u1', MID(2)), 2],
    ]);
    const v = l.verify(copies, 0);
    expect(v.violations).toEqual([]);
    expect(v.summary.ambiguousDuplicates).toBe(1);
  });

  it('reports lost, duplicated, never-accepted and refused deliveries', () => {
    const l = new Ledger();
    l.entry(MID(1), 'u1', 'lmtp').accepted = true; // on no backend
    l.entry(MID(2), 'u1', 'lmtp').accepted = true; // twice
    l.entry(MID(3), 'u1', 'lmtp').attempts = 4; // never accepted
    l.entry(MID(4), 'u1', 'lmtp').rejected = '550 no';
    const kinds = l
      .verify(new Map([[keyOf('u1', MID(2)), 2]]), 0)
      .violations.map((v) => v.kind)
      .sort();
    expect(kinds).toEqual(['duplicated', 'lost', 'never-accepted', 'rejected']);
  });

  it('counts doveadm fetch -A rows of this run only', () => {
    const out = 'Username\thdr.message-id\nu1\t<c1-l1@campaign.usher>\nu1\t<c1-l1@campaign.usher>\nu2\t<other@x>\n';
    const copies = new Map<string, number>();
    countFetched(out, (id) => id.endsWith('@campaign.usher>'), copies);
    expect([...copies]).toEqual([[keyOf('u1', MID(1)), 2]]);
  });
});

describe('two-backends checker', () => {
  function fakeCluster(who: Record<string, WhoEntry[]>): DovecotCluster {
    return { isRunning: () => true, who: async (ip: string) => who[ip] ?? [] } as unknown as DovecotCluster;
  }
  const at = (user: string): WhoEntry => ({ user, proto: 'imap', pid: 1, ip: '127.0.0.1' });

  it('tolerates an overlap shorter than the kick latency and reports a longer one once', async () => {
    const who: Record<string, WhoEntry[]> = { a: [at('u1')], b: [at('u1')] };
    const c = new PresenceChecker({
      cluster: fakeCluster(who),
      backends: ['a', 'b'],
      pollMs: 10,
      kickLatencyMs: 60,
      startedAt: Date.now(),
    });
    await c.poll();
    expect(c.violations).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    await c.poll();
    await c.poll();
    expect(c.violations.map((v) => v.kind)).toEqual(['two-backends']);
    // once the user is on one backend again, a new episode starts from scratch
    who.b = [];
    await c.poll();
    who.b = [at('u1')];
    await c.poll();
    expect(c.violations).toHaveLength(1);
    expect(c.stats.overlaps).toBe(2);
  });

  it('restarts the clock when a fault is healed', async () => {
    const c = new PresenceChecker({
      cluster: fakeCluster({ a: [at('u1')], b: [at('u1')] }),
      backends: ['a', 'b'],
      pollMs: 10,
      kickLatencyMs: 60,
      startedAt: Date.now(),
    });
    await c.poll();
    await new Promise((r) => setTimeout(r, 80));
    c.healed();
    await c.poll();
    expect(c.violations).toEqual([]);
  });
});

describe('ring link proxies', () => {
  const A = '127.0.43.1:19090';
  const B = '127.0.43.2:19090';
  let echo: Server;
  let links: LinkProxies;

  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(19090, '127.0.43.2', () => r()));
    links = await LinkProxies.start([A, B]);
  });

  afterAll(async () => {
    await links.close();
    await new Promise((r) => echo.close(r));
  });

  /** Opens a CONNECT tunnel from A's proxy to B; resolves with the socket and the proxy's status line. */
  function tunnel(): Promise<{ sock: Socket; status: string }> {
    return new Promise((resolve) => {
      const url = new URL(links.proxyUrl(A));
      const sock = netConnect({ host: url.hostname, port: Number(url.port) });
      sock.on('error', () => {});
      let head = '';
      const onData = (c: Buffer) => {
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        sock.off('data', onData);
        resolve({ sock, status: head.split('\r\n')[0] ?? '' });
      };
      sock.on('data', onData);
      sock.on('close', () => resolve({ sock, status: head.split('\r\n')[0] ?? 'closed' }));
      sock.on('connect', () => sock.write(`CONNECT ${B} HTTP/1.1\r\nHost: ${B}\r\n\r\n`));
    });
  }

  /** Everything the socket receives from now on, read with `take` after a pause. */
  function collector(sock: Socket): { take(ms?: number): Promise<string> } {
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.toString();
    });
    return {
      take: async (ms = 200) => {
        await new Promise((r) => setTimeout(r, ms));
        const out = got;
        got = '';
        return out;
      },
    };
  }

  it('forwards, holds back while blackholed, delivers on restore, and refuses while cut', async () => {
    const { sock, status } = await tunnel();
    expect(status).toMatch(/^HTTP\/1\.1 200/);
    const received = collector(sock);
    sock.write('hello');
    expect(await received.take()).toBe('hello');
    links.set(A, B, 'blackhole');
    sock.write('held');
    expect(await received.take()).toBe('');
    links.set(A, B, 'up');
    sock.write('!');
    expect(await received.take()).toBe('held!');
    links.set(A, B, 'reset');
    await new Promise((r) => (sock.destroyed ? r(undefined) : sock.once('close', r)));
    expect((await tunnel()).status).toMatch(/^HTTP\/1\.1 503/);
    // the pair is directed: B -> A is untouched by the cut of A -> B
    expect(links.state(B, A)).toBe('up');
    links.set(A, B, 'up');
    const again = await tunnel();
    expect(again.status).toMatch(/^HTTP\/1\.1 200/);
    again.sock.destroy();
    expect(links.stats.refused).toBe(1);
  });
});
