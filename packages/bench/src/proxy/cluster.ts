import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { type DovecotCluster, startDovecotBackends, startUsherd, type UsherdProcess } from '@usher/testkit';
import type { Endpoint } from './imap-client.js';
import { childrenMatching } from './proc-stats.js';

// Addresses no test file uses, so the bench can run beside `npm test`.
export const BACKEND_IPS = ['127.0.9.1', '127.0.9.2', '127.0.9.3'];
export const USHER_IP = '127.0.19.1';
const IMAP_PORT = 143;
const IMAPS_PORT = 993;
const USERNAME_HASH = '%Lu';
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * For the idle-session run only. Dovecot's default (service_count = 1) forks one imap process per
 * session, which is what the login runs should pay, as production does; but ~10k idle sessions would
 * then be ~10k processes of a few MB each on a 2-core box. Shared imap processes (all users share
 * uid 5000, which Dovecot requires for that) keep the backends out of the way of usherd's figure.
 */
export const SHARED_IMAP_PROCESSES = `
service imap {
  service_count = 0
  client_limit = 500
  process_limit = 100
  vsz_limit = 2G
}
`;

export interface BenchCluster {
  readonly root: string;
  readonly backends: DovecotCluster;
  /** Pids of the three Dovecot masters (for CPU and memory of their process trees). */
  readonly masters: readonly number[];
  /** Restarts the backends with `extraConfig` appended (mail stays); usherd reconnects per session. */
  restartBackends(extraConfig: string): Promise<void>;
  readonly usherd: UsherdProcess;
  readonly plain: Endpoint;
  readonly tls: Endpoint;
  /** The backend usherd places `user` on, for the direct baseline. */
  direct(user: string): Endpoint;
  /** A fresh usherd (same config), for memory figures that start from a clean heap. */
  restartUsherd(): Promise<UsherdProcess>;
  stop(): Promise<void>;
}

function usherdConfig(certDir: string): Record<string, unknown> {
  return {
    director_mail_servers: BACKEND_IPS.join(' '),
    director_username_hash: USERNAME_HASH,
    login_trusted_networks: '127.0.0.0/8',
    auth_failure_delay: '0',
    // every bench connection comes from 127.0.0.1; the default of 100 per IP would refuse the idle run
    login_max_connections_per_ip: 0,
    ssl_cert: join(certDir, 'server.pem'),
    ssl_key: join(certDir, 'server.key'),
    shutdown_timeout: '1 secs',
    log_level: 'warn',
    listeners: [
      { protocol: 'imap', address: USHER_IP, port: IMAP_PORT },
      { protocol: 'imap', address: USHER_IP, port: IMAPS_PORT, ssl: true },
    ],
  };
}

export async function startBenchCluster(opts: { users: number; log: (line: string) => void }): Promise<BenchCluster> {
  const root = mkdtempSync(join(tmpdir(), 'usher-bench-'));
  chmodSync(root, 0o755); // Dovecot's unprivileged processes must reach the mail directories
  const certDir = join(root, 'certs');
  execFileSync('bash', [join(REPO, 'scripts', 'make-test-certs.sh'), certDir]);
  const ca = readFileSync(join(certDir, 'ca.pem'));

  let backends: DovecotCluster | undefined;
  let usherd: UsherdProcess | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await usherd?.stop('SIGTERM', 5000).catch(() => {});
    await backends?.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };

  try {
    opts.log(`starting 3 Dovecot backends on ${BACKEND_IPS.join(', ')} (${opts.users} users) in ${root}`);
    let masters: number[] = [];
    const startBackends = async (extraConfig: string) => {
      backends = await startDovecotBackends({
        root: join(root, 'backends'),
        ips: BACKEND_IPS,
        users: opts.users,
        extraConfig,
      });
      masters = backends.backends.map((b) => {
        const [pid] = childrenMatching(b.configPath);
        if (pid === undefined) throw new Error(`no Dovecot master found for ${b.configPath}`);
        return pid;
      });
    };
    await startBackends('');
    const start = () => startUsherd({ root: join(root, 'usherd'), name: 'bench', config: usherdConfig(certDir) });
    usherd = await start();
    opts.log(`usherd pid ${usherd.pid} on ${USHER_IP}:${IMAP_PORT} (imap) and :${IMAPS_PORT} (imaps)`);

    const table = new HostTable();
    for (const ip of BACKEND_IPS) table.set({ ip });
    const placement = new Placement(table);
    const hasher = new UserHasher(USERNAME_HASH);
    const placed = new Map<string, Endpoint>();
    const cluster: BenchCluster = {
      root,
      get backends() {
        return backends as DovecotCluster;
      },
      get masters() {
        return masters;
      },
      async restartBackends(extraConfig) {
        await backends?.stop();
        backends = undefined;
        await startBackends(extraConfig);
      },
      get usherd() {
        return usherd as UsherdProcess;
      },
      plain: { host: USHER_IP, port: IMAP_PORT },
      tls: { host: USHER_IP, port: IMAPS_PORT, tls: { ca } },
      direct(user) {
        let ep = placed.get(user);
        if (!ep) {
          const ip = placement.lookup(hasher.hash(user))?.ip.text;
          if (ip === undefined) throw new Error(`no backend for ${user}`);
          ep = { host: ip, port: IMAP_PORT };
          placed.set(user, ep);
        }
        return ep;
      },
      async restartUsherd() {
        await usherd?.stop('SIGTERM', 5000);
        usherd = undefined;
        usherd = await start();
        return usherd;
      },
      stop,
    };
    return cluster;
  } catch (e) {
    await stop();
    throw e;
  }
}
