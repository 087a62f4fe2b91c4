import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DovecotCluster, type FaultProxy, startDovecotBackends, startFaultProxy } from '@usher/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, HealthCluster, login, makeRingCerts, NODES, placement, usersOn } from './health-cluster.js';

/**
 * Backend health checks end to end: three real usherd processes in a ring (gRPC, mTLS) probing three
 * real Dovecot backends, which the tests stop and start. This file owns 127.0.12.1-3 on the default
 * ports (backends) and 127.0.22.1-3 (nodes).
 */
const [B1, B2, B3] = BACKENDS;
const [N1, N2, N3] = NODES;
const PROBE_USER = 'demo0080';

const root = mkdtempSync(join(tmpdir(), 'usher-health-e2e-'));
chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
const certs = join(root, 'ring-certs');
let backends: DovecotCluster;
/** Users a test already used (each test takes fresh ones, so no assignment carries over). */
const used = new Set<string>([PROBE_USER]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls for `ms`: the backend must stay in this state on every node the whole time. */
async function staysEverywhere(hc: HealthCluster, ip: string, down: boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(await hc.everywhere(ip, down), `${ip} ${down ? 'down' : 'up'} on every node`).toBe(true);
    await sleep(200);
  }
}

/** Retries a login until it succeeds (a move in progress, a backend coming back), up to `ms`. */
async function loginWithin(node: string, user: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await login(node, user);
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(250);
    }
  }
}

beforeAll(async () => {
  await makeRingCerts(certs);
  backends = await startDovecotBackends({ root: join(root, 'backends'), ips: [...BACKENDS], users: 80 });
}, 60_000);

afterAll(async () => {
  await backends?.stop();
});

// a test that failed half-way must not leave the next one a stopped backend
beforeEach(async () => {
  for (const ip of BACKENDS) await backends.startBackend(ip);
}, 60_000);

describe('a ring with health checks (probe login and LMTP recipient)', () => {
  const hc = new HealthCluster(join(root, 'probing'), certs);

  beforeAll(async () => {
    await hc.start(() => ({
      health_check_user: PROBE_USER,
      health_check_password: 'demo',
      health_check_lmtp_rcpt: `${PROBE_USER}@demo.test`,
    }));
  }, 60_000);

  afterAll(async () => {
    await hc.stop();
  });

  it('marks a stopped backend down on every node, sends new users elsewhere, keeps existing ones, and brings it back', async () => {
    const [sticky] = usersOn(backends.users, B1, 1, used) as [string];
    const fresh = usersOn(backends.users, B1, 3, used);
    const later = usersOn(backends.users, B1, 3, used);
    expect(await loginWithin(N1, sticky, 5000)).toBe(B1);

    await backends.stopBackend(B1);
    try {
      // two failed rounds of 200 ms, one flood, one sync round
      expect(await hc.waitEverywhere(B1, true, 10_000)).toBeLessThan(5000);
      for (const n of NODES) await hc.waitForLog(n, `backend ${B1} is down (health checks)`);

      // new users: placed as if B1 were not there, through every node
      for (const [i, n] of NODES.entries()) {
        const user = fresh[i] as string;
        const expected = placement([B2, B3], user);
        expect(expected).not.toBe(B1);
        expect(await login(n, user)).toBe(expected);
      }
      // an existing user stays assigned to B1 (Dovecot's HOST-DOWN semantics): the login fails there
      await sleep(1500);
      await expect(login(N2, sticky)).rejects.toThrow();
    } finally {
      await backends.startBackend(B1);
    }
    expect(await hc.waitEverywhere(B1, false, 10_000)).toBeLessThan(5000);
    for (const n of NODES) await hc.waitForLog(n, `backend ${B1} is up`);
    expect(await login(N3, sticky)).toBe(B1);
    for (const [i, n] of NODES.entries()) expect(await login(n, later[i] as string)).toBe(B1);
  }, 60_000);

  it("holds an operator's HOST-DOWN against healthy probes until HOST-UP", async () => {
    await hc.operator(N1, 'HOST-DOWN', B2);
    await hc.waitEverywhere(B2, true, 5000);
    // fifteen rounds of passing probes on every node change nothing
    await staysEverywhere(hc, B2, true, 3000);
    for (const n of NODES) await hc.waitForLog(n, `backend ${B2} is down (operator)`);
    await hc.operator(N2, 'HOST-UP', B2);
    await hc.waitEverywhere(B2, false, 5000);
    await staysEverywhere(hc, B2, false, 2000);
  }, 60_000);

  it('keeps a backend down when the operator took over a health down, even after it recovered', async () => {
    await backends.stopBackend(B3);
    try {
      await hc.waitEverywhere(B3, true, 10_000);
      await hc.operator(N3, 'HOST-DOWN', B3);
    } finally {
      await backends.startBackend(B3);
    }
    await staysEverywhere(hc, B3, true, 3000);
    await hc.operator(N1, 'HOST-UP', B3);
    await hc.waitEverywhere(B3, false, 5000);
    await staysEverywhere(hc, B3, false, 2000);
  }, 60_000);
});

describe('a ring where one node cannot reach a backend', () => {
  const hc = new HealthCluster(join(root, 'cut'), certs);
  /** N3 reaches every backend through these (IMAP and LMTP), so a test can cut its path to one. */
  const paths = new Map<string, FaultProxy[]>();
  const IMAP_VIA = 10143;
  const LMTP_VIA = 10024;

  async function openPaths(ip: string): Promise<void> {
    paths.set(ip, [
      await startFaultProxy({ host: ip, port: IMAP_VIA, targetHost: ip, targetPort: 143 }),
      await startFaultProxy({ host: ip, port: LMTP_VIA, targetHost: ip, targetPort: 24 }),
    ]);
  }

  async function cutPaths(ip: string): Promise<void> {
    await Promise.all((paths.get(ip) ?? []).map((p) => p.close()));
    paths.delete(ip);
  }

  beforeAll(async () => {
    for (const ip of BACKENDS) await openPaths(ip);
    await hc.start((ip) => (ip === N3 ? { backend: { imap_port: IMAP_VIA, lmtp_port: LMTP_VIA } } : {}));
  }, 60_000);

  afterAll(async () => {
    await hc.stop();
    for (const ip of [...paths.keys()]) await cutPaths(ip);
  });

  it('does not flip the backend for everyone, and still follows the majority both ways', async () => {
    const [user] = usersOn(backends.users, B2, 1, used) as [string];
    await cutPaths(B2);
    // N3 fails its checks of B2, the other two outvote it
    await staysEverywhere(hc, B2, false, 3000);
    await hc.waitForLog(N3, `backend ${B2} fails its checks here`);
    for (const n of [N1, N2]) expect(hc.logLines(n, `backend ${B2} fails its checks here`)).toEqual([]);
    expect(await login(N1, user)).toBe(B2);

    // really gone: all three agree
    await backends.stopBackend(B2);
    try {
      await hc.waitEverywhere(B2, true, 10_000);
    } finally {
      // back for the two nodes that can reach it: two of three is a majority, N3's view is outvoted
      await backends.startBackend(B2);
    }
    await hc.waitEverywhere(B2, false, 10_000);
    await staysEverywhere(hc, B2, false, 2000);
    await openPaths(B2);
  }, 60_000);
});

describe('a ring with health_move_users_after', () => {
  const hc = new HealthCluster(join(root, 'moving'), certs);

  beforeAll(async () => {
    await hc.start(() => ({ health_move_users_after: '1 secs' }));
  }, 60_000);

  afterAll(async () => {
    await hc.stop();
  });

  it('moves the users of a backend down for longer than that to their hashed backends', async () => {
    const users = usersOn(backends.users, B3, 3, used);
    for (const [i, u] of users.entries()) expect(await loginWithin(NODES[i] as string, u, 5000)).toBe(B3);
    await backends.stopBackend(B3);
    try {
      await hc.waitEverywhere(B3, true, 10_000);
      for (const [i, u] of users.entries()) {
        // through another node than the one it logged in through
        expect(await loginWithin(NODES[(i + 1) % 3] as string, u, 15_000)).toBe(placement([B1, B2], u));
      }
      for (const n of NODES) await hc.waitForLog(n, `backend ${B3} is down (health checks)`);
      // one node (the lowest that agrees) moved them
      await hc.waitForLog(N1, `users off backend ${B3}`);
    } finally {
      await backends.startBackend(B3);
    }
    await hc.waitEverywhere(B3, false, 10_000);
    // moved users stay where they went; a backend coming back does not move them again
    for (const u of users) expect(await login(N1, u)).toBe(placement([B1, B2], u));
  }, 60_000);
});
