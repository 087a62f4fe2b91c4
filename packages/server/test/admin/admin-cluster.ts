import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { type DovecotCluster, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import { adminList } from './admin-helpers.js';

/** This suite owns 127.0.11.1-3 (backends) and 127.0.21.1-3 (nodes); other test files use other addresses. */
export const BACKENDS = ['127.0.11.1', '127.0.11.2', '127.0.11.3'] as const;
export const NODES = ['127.0.21.1', '127.0.21.2', '127.0.21.3'] as const;
export const RING_PORT = 9090;
export const IMAP_PORT = 15143;
export const HASH_FORMAT = '%Ln';
/** Each node's gRPC admin API, on its own address, token-protected (no TLS: loopback). */
export const ADMIN_GRPC_PORT = 19095;
export const ADMIN_TOKEN = 'admin-cluster-token-0123456789';

export interface AdminCluster {
  readonly root: string;
  readonly backends: DovecotCluster;
  readonly nodes: readonly UsherdProcess[];
  /** Each node's director-admin socket, in NODES order. */
  readonly sockets: readonly string[];
  /** Each node's gRPC admin address, in NODES order. */
  readonly grpc: readonly string[];
  stop(): Promise<void>;
}

const hasher = new UserHasher(HASH_FORMAT);

/** Where placement puts `user` over `hosts` (all up, 100 vhosts, untagged unless given). */
export function placed(user: string, hosts: readonly string[] = BACKENDS): string {
  const table = new HostTable();
  for (const ip of hosts) table.set({ ip });
  return new Placement(table).lookup(hasher.hash(user))?.ip.text as string;
}

export function hashOf(user: string): number {
  return hasher.hash(user);
}

/** Three real Dovecot backends and a ring of three usherd nodes, each with its director-admin socket. */
export async function startAdminCluster(): Promise<AdminCluster> {
  const root = mkdtempSync(join(tmpdir(), 'usher-admin-e2e-'));
  chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
  const backends = await startDovecotBackends({ root: join(root, 'backends'), ips: [...BACKENDS], users: 60 });
  const sockets = NODES.map((_, i) => join(root, `node-${i + 1}.director-admin`));
  const tokenFile = join(root, 'admin-token');
  writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const nodes: UsherdProcess[] = [];
  try {
    nodes.push(
      ...(await Promise.all(
        NODES.map((ip, i) =>
          startUsherd({
            root: join(root, 'nodes'),
            name: `admin-${i + 1}`,
            config: {
              director_servers: NODES.join(' '),
              director_ring_address: ip,
              director_ring_port: RING_PORT,
              director_ring_insecure: true,
              director_mail_servers: BACKENDS.join(' '),
              director_username_hash: HASH_FORMAT,
              director_admin_socket: sockets[i],
              admin_grpc_listen: `${ip}:${ADMIN_GRPC_PORT}`,
              admin_grpc_token_file: tokenFile,
              director_user_kick_delay: '300 ms',
              health_checks: false,
              login_trusted_networks: '127.0.0.0/8',
              auth_failure_delay: '100 ms',
              shutdown_timeout: '1 secs',
              log_format: 'json',
              listeners: [{ protocol: 'imap', address: ip, port: IMAP_PORT }],
            },
          }),
        ),
      )),
    );
    await waitRingSynced(sockets);
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await backends.stop();
    throw e;
  }
  return {
    root,
    backends,
    nodes,
    sockets,
    grpc: NODES.map((ip) => `${ip}:${ADMIN_GRPC_PORT}`),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      await backends.stop();
    },
  };
}

/** Until every node's DIRECTOR-LIST shows itself synced with a left and a right neighbour. */
export async function waitRingSynced(sockets: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(sockets.map((s) => adminList(s, 'DIRECTOR-LIST')));
    const ok = views.every(
      (rows) =>
        rows.some((r) => r[2] === 'self' && r[4] === 'ring synced') &&
        rows.some((r) => r[2] === 'left') &&
        rows.some((r) => r[2] === 'right'),
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`ring not synced: ${JSON.stringify(views)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
