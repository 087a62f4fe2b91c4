import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { GrpcTransport, type RingTls } from '@usher/ring/grpc';
import { type DovecotCluster, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);

/**
 * Three real usherd processes in a ring (gRPC, mutual TLS with certificates from the deploy script)
 * in front of three real Dovecot backends. The file owns 127.0.10.1-3 (backends) and 127.0.27.1-3
 * (nodes); other test files use other addresses, so the whole suite can run in parallel.
 *
 * How replication is made visible from outside: node 1 starts alone with director_mail_servers
 * listing only B1 and B2, and places USER there (on B1). Nodes 2 and 3 start later with tables that
 * include B3; hosts from configuration carry version 0, and a node without runtime history takes the
 * hosts it has not heard of, so the ring's table becomes B1 B2 B3. In that table USER belongs on B3,
 * and node 3 is not even configured with B1. USER still lands on B1 through every node: the
 * assignment travelled, while a user never seen before with the same placement (FRESH) goes to B3.
 */
const BACKENDS = ['127.0.10.1', '127.0.10.2', '127.0.10.3'] as const;
const [B1, B2, B3] = BACKENDS;
const NODES = ['127.0.27.1', '127.0.27.2', '127.0.27.3'] as const;
const RING_PORT = 9090;
const IMAP_PORT = 12143;
/** What each node is configured with. Node 3 lacks B1 (where the ring keeps USER). */
const MAIL_SERVERS: Record<string, readonly string[]> = {
  [NODES[0]]: [B1, B2],
  [NODES[1]]: [B1, B2, B3],
  [NODES[2]]: [B2, B3],
};
/** A login through a node with the ring up must not wait longer than this. */
const PROMPT_MS = 3000;

const hasher = new UserHasher('%Ln');
const root = mkdtempSync(join(tmpdir(), 'usher-ring-e2e-'));
chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
const certs = join(root, 'ring-certs');
const rogueCerts = join(root, 'rogue-certs');
const nodesDir = join(root, 'nodes');
const makeRingCerts = fileURLToPath(new URL('../../../deploy/certs/make-ring-certs.sh', import.meta.url));

let cluster: DovecotCluster;
const nodes = new Map<string, UsherdProcess>();

function placement(backends: readonly string[], user: string): string {
  const table = new HostTable();
  for (const ip of backends) table.set({ ip });
  return new Placement(table).lookup(hasher.hash(user))?.ip.text as string;
}

/** Users that B1+B2 place on B1 while B1+B2+B3 place on B3: their backend tells which table decided. */
function movedToB3(users: readonly string[]): string[] {
  return users.filter((u) => placement([B1, B2], u) === B1 && placement(BACKENDS, u) === B3);
}

function nodeConfig(ip: string): Record<string, unknown> {
  return {
    director_servers: NODES.join(' '),
    director_ring_address: ip,
    director_ring_port: RING_PORT,
    director_ring_ssl_ca: join(certs, 'ca.pem'),
    director_ring_ssl_cert: join(certs, `${ip}.pem`),
    director_ring_ssl_key: join(certs, `${ip}.key`),
    director_mail_servers: (MAIL_SERVERS[ip] as readonly string[]).join(' '),
    director_username_hash: '%Ln',
    login_trusted_networks: '127.0.0.0/8',
    auth_failure_delay: '100 ms',
    shutdown_timeout: '1 secs',
    log_format: 'json',
    listeners: [{ protocol: 'imap', address: ip, port: IMAP_PORT }],
  };
}

async function startNode(ip: string): Promise<UsherdProcess> {
  const n = await startUsherd({ root: nodesDir, name: `ring-${ip}`, config: nodeConfig(ip), timeoutMs: 30_000 });
  nodes.set(ip, n);
  return n;
}

function node(ip: string): UsherdProcess {
  const n = nodes.get(ip);
  if (!n) throw new Error(`node ${ip} not started`);
  return n;
}

interface LogLine {
  readonly message: string;
  readonly [key: string]: unknown;
}

/** The node's JSON log lines, from byte `from` on (a restarted node appends to the same file). */
function logOf(ip: string, from = 0): LogLine[] {
  const text = readFileSync(node(ip).logPath).subarray(from).toString();
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

function logSize(ip: string): number {
  return statSync(node(ip).logPath).size;
}

/** Log in over IMAP through a node; the backend names itself in its ID answer (x-backend). */
async function login(nodeIp: string, user: string): Promise<{ backend: string; ms: number }> {
  const t0 = performance.now();
  const client = new ImapFlow({
    host: nodeIp,
    port: IMAP_PORT,
    secure: false,
    // plaintext on purpose: the client is in login_trusted_networks
    doSTARTTLS: false,
    auth: { user, pass: 'demo' },
    logger: false,
  });
  await client.connect();
  const ms = performance.now() - t0;
  const backend = String(client.serverInfo?.['x-backend'] ?? '');
  await client.logout();
  return { backend, ms };
}

async function backendOf(nodeIp: string, user: string): Promise<string> {
  return (await login(nodeIp, user)).backend;
}

function tls(dir: string, ip: string, caDir = dir): RingTls {
  return {
    ca: readFileSync(join(caDir, 'ca.pem')),
    cert: readFileSync(join(dir, `${ip}.pem`)),
    key: readFileSync(join(dir, `${ip}.key`)),
  };
}

let USER: string;
let FRESH: string;
/** Users spread over the three backends, logged in once the ring is complete. */
let spread: string[];
/** Backend of every user some node routed so far, as observed. */
const seen = new Map<string, string>();

beforeAll(async () => {
  await exec('bash', [makeRingCerts, certs, ...NODES]);
  // same addresses, another CA: what a stranger who knows our CA certificate could present
  await exec('bash', [makeRingCerts, rogueCerts, NODES[1]]);
  cluster = await startDovecotBackends({ root: join(root, 'backends'), ips: [...BACKENDS], users: 60 });
  const moved = movedToB3(cluster.users);
  expect(moved.length).toBeGreaterThanOrEqual(2);
  [USER, FRESH] = moved as [string, string];
  spread = cluster.users.filter((u) => !moved.includes(u)).slice(0, 12);
  expect(new Set(spread.map((u) => placement(BACKENDS, u))).size).toBe(3);
}, 120_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop('SIGKILL')));
  await cluster?.stop();
  // the node logs stay for a look when something failed
  if (!failed) rmSync(root, { recursive: true, force: true });
  else process.stderr.write(`ring e2e: node logs kept in ${nodesDir}\n`);
});

let failed = false;
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
});

describe('usherd ring end to end (3 processes, gRPC mTLS, real Dovecot)', () => {
  it('node 1 alone (configured with B1 and B2 only) places USER on B1', async () => {
    await startNode(NODES[0]);
    // it serves once it found no other member reachable
    const backend = await backendOf(NODES[0], USER);
    expect(backend).toBe(B1);
    seen.set(USER, backend);
    expect(logOf(NODES[0]).some((l) => l.message === 'ring: ready' && l.reason === 'no other member reachable')).toBe(
      true,
    );
  }, 60_000);

  it('nodes 2 and 3 join and take the ring state: USER stays on B1 everywhere, a new user goes to B3', async () => {
    await startNode(NODES[1]);
    await startNode(NODES[2]);
    for (const ip of NODES.slice(1)) {
      await expect
        .poll(() => logOf(ip).some((l) => l.message === 'ring: ready' && l.reason === 'received the ring state'), {
          timeout: 30_000,
        })
        .toBe(true);
    }
    // node 3's own table (B2 B3) cannot even name B1: it learned the host and the assignment
    expect(await backendOf(NODES[2], USER)).toBe(B1);
    expect(await backendOf(NODES[1], USER)).toBe(B1);
    expect(await backendOf(NODES[0], USER)).toBe(B1);
    // the ring's table is the union: FRESH, never seen, goes where B1 B2 B3 put it, through every node
    // (first through node 3, whose table had B3 from the start, so node 1 cannot have placed it first)
    expect(await backendOf(NODES[2], FRESH)).toBe(B3);
    expect(await backendOf(NODES[0], FRESH)).toBe(B3);
    expect(await backendOf(NODES[1], FRESH)).toBe(B3);
    seen.set(FRESH, B3);
  }, 90_000);

  it('a user logging in through any node lands on one backend', async () => {
    for (const [i, user] of spread.entries()) {
      // the first login places the user; which node does it rotates
      const order = [...NODES.slice(i % 3), ...NODES.slice(0, i % 3)];
      const backends = [];
      for (const ip of order) backends.push(await backendOf(ip, user));
      expect(new Set(backends), `${user} through ${order.join(', ')}: ${backends.join(', ')}`).toEqual(
        new Set([placement(BACKENDS, user)]),
      );
      seen.set(user, backends[0] as string);
    }
    expect(new Set(spread.map((u) => seen.get(u))).size).toBe(3);
  }, 90_000);

  it('refuses a peer that is not in director_servers, and one whose certificate comes from another CA', async () => {
    const target = `${NODES[2]}:${RING_PORT}`;
    // a certificate from our CA, for one of our addresses, but an id director_servers does not list
    const stranger = new GrpcTransport({
      self: `${NODES[0]}:${RING_PORT + 1}`,
      tls: tls(certs, NODES[0]),
      members: () => [],
      connectTimeoutMs: 5000,
    });
    const from = logSize(NODES[2]);
    await expect(stranger.connect(target)).rejects.toThrow(/not a ring member/);
    await stranger.close();
    await expect
      .poll(() => logOf(NODES[2], from).filter((l) => l.message === 'ring peer refused'), { timeout: 5000 })
      .toEqual([
        expect.objectContaining({
          claimed: `${NODES[0]}:${RING_PORT + 1}`,
          reason: expect.stringMatching(/not a ring member/),
        }),
      ]);

    // a member's id and a certificate naming its IP, but signed by another CA: TLS refuses it
    const impostor = new GrpcTransport({
      self: `${NODES[1]}:${RING_PORT}`,
      tls: tls(rogueCerts, NODES[1], certs),
      members: () => [],
      connectTimeoutMs: 5000,
    });
    const err = await impostor.connect(target).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await impostor.close();
    // the TLS handshake fails (node 3 resets the connection), before any call reaches the ring; nothing
    // of it reaches node 3's log today: grpc-js ends such handshakes without telling the application
    expect(err?.message).toMatch(/ring link to 127\.0\.27\.3:9090 failed: UNAVAILABLE/);
    // no link was opened for either, and the ring still routes
    expect(logOf(NODES[2], from).filter((l) => l.message === 'ring link open')).toEqual([]);
    expect(await backendOf(NODES[2], USER)).toBe(B1);
  }, 60_000);

  it('kill -9 of node 2: nodes 1 and 3 keep routing at once and re-link to each other', async () => {
    const from1 = logSize(NODES[0]);
    const from3 = logSize(NODES[2]);
    node(NODES[1]).child.kill('SIGKILL');
    await node(NODES[1]).stop('SIGKILL');
    const newcomers = cluster.users.filter((u) => !seen.has(u)).slice(0, 4);
    for (const ip of [NODES[0], NODES[2]]) {
      for (const user of [USER, FRESH, ...spread.slice(0, 3), ...newcomers]) {
        const { backend, ms } = await login(ip, user);
        expect(backend, `${user} through ${ip}`).toBe(seen.get(user) ?? placement(BACKENDS, user));
        expect(ms, `${user} through ${ip}`).toBeLessThan(PROMPT_MS);
        seen.set(user, backend);
      }
    }
    // node 1's right neighbour was node 2; it now links to node 3 (node 3's right was node 1 already)
    await expect
      .poll(
        () =>
          logOf(NODES[0], from1).some(
            (l) =>
              l.message === 'ring link open' && l.peer === `${NODES[2]}:${RING_PORT}` && l.direction === 'outbound',
          ),
        { timeout: 20_000 },
      )
      .toBe(true);
    expect(
      logOf(NODES[0], from1).some((l) => l.message === 'ring: link closed' && l.peer === `${NODES[1]}:${RING_PORT}`),
    ).toBe(true);
    expect(
      logOf(NODES[2], from3).some((l) => l.message === 'ring: link closed' && l.peer === `${NODES[1]}:${RING_PORT}`),
    ).toBe(true);
  }, 90_000);

  it('node 2 restarted rejoins, re-learns the state and routes every user as before', async () => {
    const from2 = logSize(NODES[1]);
    const links1 = logOf(NODES[0]).filter(
      (l) => l.message === 'ring link open' && l.peer === `${NODES[1]}:${RING_PORT}` && l.direction === 'outbound',
    ).length;
    await startNode(NODES[1]);
    const ready = () => logOf(NODES[1], from2).find((l) => l.message === 'ring: ready');
    await expect
      .poll(ready, { timeout: 30_000 })
      .toEqual(expect.objectContaining({ reason: 'received the ring state' }));
    expect((ready() as LogLine).users).toBeGreaterThanOrEqual(seen.size);
    // its own table (B1 B2 B3) would put USER on B3: only the re-learned assignment says B1
    for (const [user, backend] of seen) expect(await backendOf(NODES[1], user), user).toBe(backend);
    // and it is linked again: node 1 links to its right (node 2) again
    await expect
      .poll(
        () =>
          logOf(NODES[0]).filter(
            (l) =>
              l.message === 'ring link open' && l.peer === `${NODES[1]}:${RING_PORT}` && l.direction === 'outbound',
          ).length,
        { timeout: 20_000 },
      )
      .toBeGreaterThan(links1);
  }, 90_000);
});
