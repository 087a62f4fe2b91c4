#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostTable, Placement, UserHasher } from '@usher/core';
import { startUsherd, type UsherdProcess } from '../cluster/usherd-process.js';
import { startDovecotBackends } from '../dovecot-backend.js';

/**
 * `npm start`: three real Dovecot backends and usherd in front of them, all on loopback,
 * with everything under .demo/ in the repository. Ctrl-C stops what it started.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const ROOT = join(REPO, '.demo');
const BACKENDS = ['127.0.2.1', '127.0.2.2', '127.0.2.3'];
const NODE_IPS = ['127.0.1.1', '127.0.1.2', '127.0.1.3'];
const RING_PORT = 9090;
/** Node N's director-admin socket: `doveadm director ... -a` and `usheradm director ... -a` talk to it. */
const adminSocket = (i: number) => join(ROOT, 'nodes', `usher-${i + 1}.director-admin`);
const METRICS_PORT = 9100;
/** Node N's gRPC admin API (usheradm --grpc), mTLS with the ring CA; usheradm's client certificate is made for 127.0.0.1. */
const ADMIN_GRPC_PORT = 9095;
const ADMIN_CLIENT = '127.0.0.1';
const PORTS = { imap: 1143, imaps: 1993, pop3: 1110, pop3s: 1995, lmtp: 1024, managesieve: 4190 };

async function main(): Promise<void> {
  mkdirSync(ROOT, { recursive: true });
  const certs = join(ROOT, 'certs');
  execFileSync('bash', [join(REPO, 'scripts/make-test-certs.sh'), certs], { stdio: 'inherit' });
  process.stdout.write('starting 3 Dovecot backends (1000 users each)...\n');
  const cluster = await startDovecotBackends({ root: join(ROOT, 'backends'), ips: BACKENDS, users: 1000 });
  const ringCerts = join(ROOT, 'ring-certs');
  execFileSync('bash', [join(REPO, 'deploy/certs/make-ring-certs.sh'), ringCerts, ...NODE_IPS, ADMIN_CLIENT], {
    stdio: 'inherit',
  });
  const nodes: UsherdProcess[] = [];
  const stopAll = async () => {
    process.stdout.write('\nstopping...\n');
    await Promise.all(nodes.map((n) => n.stop()));
    await cluster.stop();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());
  process.stdout.write('starting 3 usherd nodes in a ring...\n');
  const started = await Promise.all(
    NODE_IPS.map((ip, n) =>
      startUsherd({
        root: join(ROOT, 'nodes'),
        name: `usher-${n + 1}`,
        config: nodeConfig(ip, certs, ringCerts),
      }),
    ),
  );
  nodes.push(...started);
  process.stdout.write(
    banner(
      started,
      certs,
      ringCerts,
      cluster.backends.map((b) => b.configPath),
      oneUserPerBackend(cluster.users),
    ),
  );
}

function nodeConfig(ip: string, certs: string, ringCerts: string): Record<string, unknown> {
  return {
    director_servers: NODE_IPS.join(' '),
    director_ring_address: ip,
    director_ring_port: RING_PORT,
    director_ring_ssl_ca: join(ringCerts, 'ca.pem'),
    director_ring_ssl_cert: join(ringCerts, `${ip}.pem`),
    director_ring_ssl_key: join(ringCerts, `${ip}.key`),
    director_admin_socket: adminSocket(NODE_IPS.indexOf(ip)),
    // node N serves /metrics, /healthz and /readyz on 127.0.1.N:9100
    metrics_listen: `${ip}:${METRICS_PORT}`,
    // the gRPC admin API: any certificate of the cluster CA may administer (production: a CA of its own)
    admin_grpc_listen: `${ip}:${ADMIN_GRPC_PORT}`,
    admin_grpc_ssl_cert: join(ringCerts, `${ip}.pem`),
    admin_grpc_ssl_key: join(ringCerts, `${ip}.key`),
    admin_grpc_ssl_client_ca: join(ringCerts, 'ca.pem'),

    director_mail_servers: BACKENDS.join(' '),
    // users log in as demoNNNN and receive mail as demoNNNN@demo.test: hash the local part only
    director_username_hash: '%Ln',
    auth_master_user_separator: '*',
    // plaintext logins without TLS only from 127.0.0.1; any other source must use TLS first
    login_trusted_networks: '127.0.0.1/32',
    haproxy_trusted_networks: '127.0.0.0/8',
    ssl_cert: join(certs, 'server.pem'),
    ssl_key: join(certs, 'server.key'),
    // health checks: a backend that stops answering is marked down ring-wide within seconds
    health_checks: true,
    health_check_interval: '2 secs',
    health_check_timeout: '2 secs',
    health_check_fail_count: 2,
    health_check_protocols: 'imap pop3 lmtp',
    listeners: [
      { protocol: 'imap', address: ip, port: PORTS.imap },
      { protocol: 'imap', address: ip, port: PORTS.imaps, ssl: true },
      { protocol: 'pop3', address: ip, port: PORTS.pop3 },
      { protocol: 'pop3', address: ip, port: PORTS.pop3s, ssl: true },
      { protocol: 'lmtp', address: ip, port: PORTS.lmtp },
      { protocol: 'managesieve', address: ip, port: PORTS.managesieve },
    ],
  };
}

/** One user per backend, found with the same placement the node uses, so the LMTP example spans all three. */
function oneUserPerBackend(users: readonly string[]): string[] {
  const table = new HostTable();
  for (const ip of BACKENDS) table.set({ ip });
  const placement = new Placement(table);
  const hasher = new UserHasher('%Ln');
  const picked = new Map<string, string>();
  for (const u of users) {
    const backend = placement.lookup(hasher.hash(u))?.ip.text;
    if (backend && !picked.has(backend)) picked.set(backend, u);
  }
  return BACKENDS.map((b) => picked.get(b) ?? users[0] ?? 'demo0001');
}

function banner(
  nodes: readonly UsherdProcess[],
  certs: string,
  ringCerts: string,
  backendConfigs: readonly string[],
  spread: readonly string[],
): string {
  const [a, b, c] = spread;
  return `
Usher demo is running (Ctrl-C stops everything it started).

  backends   ${BACKENDS.join(', ')}  (Dovecot 2.3; IMAP 143, POP3 110, LMTP 24, ManageSieve 4190)
  users      demo0001 .. demo1000, password "demo"; LMTP recipients demoNNNN@demo.test
  ring       ${NODE_IPS.map((ip) => `${ip}:${RING_PORT}`).join(', ')}  (gRPC, mutual TLS with the cluster CA in ${ringCerts})
${nodes.map((n, i) => `  node ${i + 1}     ${NODE_IPS[i]}  log: ${n.logPath}`).join('\n')}
${nodes.map((_, i) => `  admin ${i + 1}    ${adminSocket(i)}  (doveadm director ... -a PATH)`).join('\n')}
  admin gRPC ${NODE_IPS.map((ip) => `${ip}:${ADMIN_GRPC_PORT}`).join(', ')}  (usheradm director ... --grpc ADDR, mTLS)
  metrics    http://<node>:${METRICS_PORT}/metrics  /healthz  /readyz

  every node listens on its own address with the same ports:
  protocol      port   TLS
  IMAP          ${PORTS.imap}   STARTTLS (plaintext login only from 127.0.0.1)
  IMAPS         ${PORTS.imaps}   implicit
  POP3          ${PORTS.pop3}   STLS
  POP3S         ${PORTS.pop3s}   implicit
  LMTP          ${PORTS.lmtp}   STARTTLS
  ManageSieve   ${PORTS.managesieve}   STARTTLS

Try:
  curl -s --url imap://${NODE_IPS[0]}:${PORTS.imap}/ --user ${a}:demo -X 'ID NIL'      # x-backend: the backend names itself
  curl -s --url imap://${NODE_IPS[1]}:${PORTS.imap}/ --user ${a}:demo -X 'ID NIL'      # same user, another node: same backend
  curl -s --url imaps://${NODE_IPS[2]}:${PORTS.imaps}/INBOX --cacert ${certs}/ca.pem --user ${b}:demo -X 'EXAMINE INBOX'
  curl -s --url pop3://${NODE_IPS[0]}:${PORTS.pop3}/ --user ${c}:demo
  doveadm director status -a ${adminSocket(0)}                  # backends, users per backend
  node packages/cli/dist/main.js director ring status -a ${adminSocket(1)}
  USHERADM_GRPC=${NODE_IPS[2]}:${ADMIN_GRPC_PORT} USHERADM_CA=${ringCerts}/ca.pem USHERADM_CERT=${ringCerts}/${ADMIN_CLIENT}.pem \\
    USHERADM_KEY=${ringCerts}/${ADMIN_CLIENT}.key node packages/cli/dist/main.js director status   # over gRPC
  swaks --protocol LMTP --server ${NODE_IPS[1]}:${PORTS.lmtp} --from me@example.org --to ${spread.map((x) => `${x}@demo.test`).join(',')}
  curl -s http://${NODE_IPS[0]}:${METRICS_PORT}/metrics | grep ^usher_              # sessions, logins, users per backend, ring
  node packages/cli/dist/main.js director map --hosts '${BACKENDS.join(' ')}' --hash-format %Ln ${spread.join(' ')}
${backendConfigs.map((cfg) => `  doveadm -c ${cfg} who`).join('\n')}     # who is logged in where

Health checks: stop a backend and every node marks it down within ~5 s; start it and it comes back up:
  doveadm -c ${backendConfigs[1]} stop      # then: grep 'health:' ${nodes[0]?.logPath ?? 'the node logs'}
  dovecot -c ${backendConfigs[1]}           # (runs on its own from then on; stop it with doveadm again)
`;
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
