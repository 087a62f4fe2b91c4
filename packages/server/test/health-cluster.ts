import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { adminCommand, adminListing, startUsherd, type UsherdProcess } from '@usher/testkit';
import { ImapFlow } from 'imapflow';

/**
 * Three real usherd processes in a ring in front of the health e2e's Dovecot backends, with their
 * director-admin sockets, for the health checks' end-to-end tests. The e2e owns 127.0.12.1-3
 * (backends, default ports) and 127.0.22.1-3 (nodes).
 */
export const BACKENDS = ['127.0.12.1', '127.0.12.2', '127.0.12.3'] as const;
export const NODES = ['127.0.22.1', '127.0.22.2', '127.0.22.3'] as const;
export const IMAP_PORT = 14143;
const RING_PORT = 9090;
const exec = promisify(execFile);
const hasher = new UserHasher('%Ln');

/** Where Dovecot's director puts a user that has no assignment, given the backends that are up. */
export function placement(up: readonly string[], user: string): string {
  const table = new HostTable();
  for (const ip of up) table.set({ ip });
  return new Placement(table).lookup(hasher.hash(user))?.ip.text as string;
}

/** `n` users that all three backends up place on `on`, none of them in `except`. */
export function usersOn(users: readonly string[], on: string, n: number, except: Set<string>): string[] {
  const out = users.filter((u) => !except.has(u) && placement(BACKENDS, u) === on).slice(0, n);
  if (out.length < n) throw new Error(`only ${out.length} users on ${on}`);
  for (const u of out) except.add(u);
  return out;
}

export async function makeRingCerts(dir: string): Promise<void> {
  const script = fileURLToPath(new URL('../../../deploy/certs/make-ring-certs.sh', import.meta.url));
  await exec('bash', [script, dir, ...NODES]);
}

export class HealthCluster {
  readonly nodes = new Map<string, UsherdProcess>();
  private readonly dir: string;
  private readonly certs: string;

  /** `dir`: this cluster's own directory (configs, logs, admin sockets). */
  constructor(dir: string, certs: string) {
    this.dir = dir;
    this.certs = certs;
  }

  /** Start the three nodes; `extra(ip)` adds or overrides settings per node. */
  async start(extra: (ip: string) => Record<string, unknown> = () => ({})): Promise<void> {
    const started = await Promise.all(
      NODES.map((ip) =>
        startUsherd({
          root: this.dir,
          name: `health-${ip}`,
          config: { ...this.config(ip), ...extra(ip) },
          timeoutMs: 30_000,
        }),
      ),
    );
    for (const [i, ip] of NODES.entries()) this.nodes.set(ip, started[i] as UsherdProcess);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
  }

  adminSocket(node: string): string {
    return join(this.dir, `admin-${node}.sock`);
  }

  /** Backends each node's HOST-LIST shows down. */
  async downOn(node: string): Promise<string[]> {
    const rows = await adminListing(this.adminSocket(node), ['HOST-LIST']);
    return rows.map((r) => r.split('\t')).flatMap((f) => (f[4] === 'D' ? [f[0] as string] : []));
  }

  /** Whether every node sees `ip` in this state. */
  async everywhere(ip: string, down: boolean): Promise<boolean> {
    const lists = await Promise.all(NODES.map((n) => this.downOn(n)));
    return lists.every((l) => l.includes(ip) === down);
  }

  /** Poll until every node sees `ip` in this state; resolves with how long it took (ms), rejects after `limitMs`. */
  async waitEverywhere(ip: string, down: boolean, limitMs: number): Promise<number> {
    const t0 = Date.now();
    while (!(await this.everywhere(ip, down))) {
      if (Date.now() - t0 > limitMs)
        throw new Error(`${ip} not ${down ? 'down' : 'up'} on every node in ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Date.now() - t0;
  }

  /** HOST-UP / HOST-DOWN through a node's director-admin socket (an operator's change). */
  async operator(node: string, command: 'HOST-UP' | 'HOST-DOWN', ip: string): Promise<void> {
    const reply = await adminCommand(this.adminSocket(node), [command, ip]);
    if (reply !== 'OK') throw new Error(`${command} ${ip}: ${reply}`);
  }

  /** Poll until the node's log mentions `text` (log lines are written asynchronously). */
  async waitForLog(node: string, text: string, limitMs = 5000): Promise<void> {
    const until = Date.now() + limitMs;
    while (this.logLines(node, text).length === 0) {
      if (Date.now() > until) throw new Error(`${node} never logged "${text}" within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Lines of a node's log mentioning `text`. */
  logLines(node: string, text: string): string[] {
    const n = this.nodes.get(node);
    if (!n) throw new Error(`node ${node} is not running`);
    return readFileSync(n.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes(text));
  }

  private config(ip: string): Record<string, unknown> {
    return {
      director_servers: NODES.join(' '),
      director_ring_address: ip,
      director_ring_port: RING_PORT,
      director_ring_ssl_ca: join(this.certs, 'ca.pem'),
      director_ring_ssl_cert: join(this.certs, `${ip}.pem`),
      director_ring_ssl_key: join(this.certs, `${ip}.key`),
      director_admin_socket: this.adminSocket(ip),
      director_mail_servers: BACKENDS.join(' '),
      director_username_hash: '%Ln',
      director_user_kick_delay: '100 ms',
      login_trusted_networks: '127.0.0.0/8',
      auth_failure_delay: '100 ms',
      login_proxy_timeout: '2 secs',
      shutdown_timeout: '1 secs',
      listeners: [{ protocol: 'imap', address: ip, port: IMAP_PORT }],
      // small intervals so the test sees in seconds what production sees in tens of seconds
      health_check_interval: '200 ms',
      health_check_timeout: '1 secs',
      health_check_fail_count: 2,
      health_check_ok_count: 2,
      health_check_protocols: 'imap lmtp',
    };
  }
}

/** Log in over IMAP through a node; the backend names itself in its ID answer (x-backend). */
export async function login(node: string, user: string): Promise<string> {
  const client = new ImapFlow({
    host: node,
    port: IMAP_PORT,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: 'demo' },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  const backend = String(client.serverInfo?.['x-backend'] ?? '');
  await client.logout();
  return backend;
}
