import { readFileSync } from 'node:fs';
import type { HostTable, UserHasher } from '@usher/core';
import type { SessionRegistry } from '@usher/proxy';
import { MemoryNetwork, RealScheduler, RingNode } from '@usher/ring';
import { GrpcTransport } from '@usher/ring/grpc';
import { ConfigError, type UsherConfig } from '../config/load-config.js';
import type { UsherLogger } from '../log/logger.js';
import { dnsResolve } from '../net/dns.js';
import { nodeId, parseDirectorServers } from './director-servers.js';

/** What starting this node's ring (or its ring of one) needs. */
export interface RingStartOptions {
  readonly config: UsherConfig;
  readonly hosts: HostTable;
  readonly hasher: UserHasher;
  readonly registry: SessionRegistry;
  readonly log: UsherLogger;
}

/**
 * Join the ring described by director_servers: this node's id is director_ring_address:port and
 * must be listed; peers authenticate with the cluster CA unless the ring is explicitly insecure.
 */
export async function startRing(opts: RingStartOptions): Promise<RingNode> {
  const { config, log } = opts;
  const r = config.ring;
  if (!r.address) {
    throw new ConfigError('director_ring_address must be set when director_servers is', {
      setting: 'director_ring_address',
    });
  }
  const self = nodeId(r.address, r.port);
  const members = await parseDirectorServers(config.directorServers, r.port, dnsResolve);
  if (!members.includes(self)) {
    throw new ConfigError(`director_servers doesn't list ourself (${self})`, { setting: 'director_servers' });
  }
  let tls: { ca: Buffer; cert: Buffer; key: Buffer } | 'insecure';
  if (r.insecure) {
    log.warn('ring runs WITHOUT TLS and peer authentication (director_ring_insecure)', { self });
    tls = 'insecure';
  } else {
    if (!r.sslCa || !r.sslCert || !r.sslKey) {
      throw new ConfigError(
        'the ring needs director_ring_ssl_ca, director_ring_ssl_cert and director_ring_ssl_key (or director_ring_insecure)',
        { setting: 'director_ring_ssl_cert' },
      );
    }
    try {
      tls = { ca: readFileSync(r.sslCa), cert: readFileSync(r.sslCert), key: readFileSync(r.sslKey) };
    } catch (e) {
      throw new ConfigError(`cannot read the ring certificates: ${(e as Error).message}`, {
        setting: 'director_ring_ssl_cert',
      });
    }
  }
  let node: RingNode | undefined;
  const transport = new GrpcTransport({
    self,
    tls,
    // only current members may link to us; the list changes with ring add / remove
    members: () => (node ? [self, ...node.status().peers.map((p) => p.node)] : members),
    keepaliveMs: r.pingIntervalMs * 2,
    keepaliveTimeoutMs: r.pingTimeoutMs,
    log,
  });
  node = new RingNode({
    self,
    members,
    transport,
    scheduler: new RealScheduler(),
    hosts: opts.hosts,
    hasher: opts.hasher,
    userExpireSecs: config.userExpireSecs,
    userKickDelayMs: r.userKickDelayMs,
    syncTimeoutMs: r.syncTimeoutMs,
    pingIntervalMs: r.pingIntervalMs,
    pingTimeoutMs: r.pingTimeoutMs,
    kicks: opts.registry,
    log,
  });
  await node.start();
  log.info('ring started', { self, members: members.length });
  return node;
}

/**
 * A node without director_servers (like a Director with an empty director_servers): a ring of one,
 * so admin operations, moves and kicks behave exactly as in a ring; its network reaches no one.
 */
export async function startStandalone(opts: RingStartOptions): Promise<RingNode> {
  const self = STANDALONE_SELF;
  const scheduler = new RealScheduler();
  const node = new RingNode({
    self,
    members: [self],
    transport: new MemoryNetwork({ scheduler }).transport(self),
    scheduler,
    hosts: opts.hosts,
    hasher: opts.hasher,
    userExpireSecs: opts.config.userExpireSecs,
    userKickDelayMs: opts.config.ring.userKickDelayMs,
    syncTimeoutMs: opts.config.ring.syncTimeoutMs,
    kicks: opts.registry,
    log: opts.log,
  });
  await node.start();
  return node;
}

/** Dovecot's id for a standalone director. */
export const STANDALONE_SELF = '127.0.0.1:0';
