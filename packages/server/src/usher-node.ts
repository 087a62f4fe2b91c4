import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { DirectorAdminSocket } from '@usher/admin';
import type { AdminGrpcServer } from '@usher/admin/grpc';
import { HostTable, parseMailServers, type Router, resolveMailServers, UserHasher } from '@usher/core';
import type { HealthMonitor } from '@usher/health';
import {
  type BackendTlsOptions,
  type ClientConnection,
  handleImapConnection,
  handleLmtpConnection,
  handleManageSieveConnection,
  handlePop3Connection,
  IMAP_SHUTDOWN_LINE,
  type Listener,
  LMTP_SHUTDOWN_LINE,
  MANAGESIEVE_SHUTDOWN_LINE,
  NetworkList,
  POP3_SHUTDOWN_LINE,
  type ProxyContext,
  SessionRegistry,
  startListener,
} from '@usher/proxy';
import type { RingNode } from '@usher/ring';
import { createAdminApi, startDirectorAdmin } from './admin/start-admin.js';
import { startAdminGrpc } from './admin/start-admin-grpc.js';
import { ConfigError, type ListenerConfig, type Protocol, type UsherConfig } from './config/load-config.js';
import { startHealth } from './health/start-health.js';
import type { UsherLogger } from './log/logger.js';
import { dnsResolve } from './net/dns.js';
import { Observability } from './observability/observability.js';
import { startRing, startStandalone } from './ring/start-ring.js';

const HANDLERS: Record<Protocol, (conn: ClientConnection, ctx: ProxyContext) => Promise<void>> = {
  imap: handleImapConnection,
  pop3: handlePop3Connection,
  lmtp: handleLmtpConnection,
  managesieve: handleManageSieveConnection,
};

const SHUTDOWN_LINES: Record<Protocol, string> = {
  imap: IMAP_SHUTDOWN_LINE,
  pop3: POP3_SHUTDOWN_LINE,
  lmtp: LMTP_SHUTDOWN_LINE,
  managesieve: MANAGESIEVE_SHUTDOWN_LINE,
};

const REFUSE_LINES: Record<Protocol, (reason: string) => string> = {
  imap: (r) => `* BYE ${r}\r\n`,
  pop3: (r) => `-ERR [SYS/TEMP] ${r}\r\n`,
  lmtp: (r) => `421 4.3.2 ${r}\r\n`,
  managesieve: (r) => `BYE "${r}"\r\n`,
};

/**
 * One usherd node, standalone: the host table from director_mail_servers, the local router,
 * the session registry and a listener per configured endpoint. The ring will replace the router.
 */
export class UsherNode {
  readonly config: UsherConfig;
  readonly log: UsherLogger;
  readonly registry = new SessionRegistry();
  hosts!: HostTable;
  router!: Router;
  /** The replicated state; a ring of one when director_servers is empty. */
  ring!: RingNode;
  /** Backend health checks (undefined when health_checks is off). */
  health: HealthMonitor | undefined;
  /** director-admin (doveadm director, poolmon); undefined when off. */
  admin: DirectorAdminSocket | undefined;
  /** The gRPC admin API (usheradm --grpc); undefined when off. */
  adminGrpc: AdminGrpcServer | undefined;
  /** Metrics (fed by the proxy's events) and the /metrics, /healthz, /readyz endpoint. */
  readonly observability: Observability;
  private listeners: Array<{ config: ListenerConfig; listener: Listener }> = [];
  private stopping: Promise<void> | undefined;

  constructor(config: UsherConfig, log: UsherLogger) {
    this.config = config;
    this.log = log;
    this.observability = new Observability(this, config, log);
  }

  async start(): Promise<void> {
    const c = this.config;
    this.hosts = new HostTable();
    for (const h of await resolveMailServers(parseMailServers(c.directorMailServers), dnsResolve)) this.hosts.set(h);
    if (this.hosts.size === 0)
      throw new ConfigError('director_mail_servers lists no backend', { setting: 'director_mail_servers' });
    const hasher = new UserHasher(c.usernameHash);
    const ringOpts = { config: c, hosts: this.hosts, hasher, registry: this.registry, log: this.log };
    this.ring = c.directorServers.trim() === '' ? await startStandalone(ringOpts) : await startRing(ringOpts);
    this.router = this.ring.router;
    this.registry.startRefresh(this.router);
    const adminApi = await createAdminApi({ config: c, ring: this.ring, hasher, log: this.log });
    this.admin = await startDirectorAdmin({ config: c, api: adminApi, log: this.log });
    this.adminGrpc = await startAdminGrpc({ config: c, api: adminApi, log: this.log });
    this.health = startHealth({ config: c, ring: this.ring, log: this.log });
    const tls = this.secureContext();
    const loginTrusted = NetworkList.parse(c.loginTrustedNetworks);
    const haproxyTrusted = NetworkList.parse(c.haproxyTrustedNetworks);
    for (const lc of c.listeners) {
      if (lc.ssl && !tls)
        throw new ConfigError(
          `listener ${lc.protocol} ${lc.address}:${lc.port} has ssl but ssl_cert/ssl_key are not set`,
          { setting: 'listeners' },
        );
      const ctx = this.context(lc, tls);
      const listener = await startListener(
        {
          name: `${lc.protocol}@${lc.address}:${lc.port}`,
          protocol: lc.protocol,
          address: lc.address,
          port: lc.port,
          ...(lc.ssl && tls ? { tls } : {}),
          haproxy: lc.haproxy,
          haproxyTrusted,
          loginTrusted,
          haproxyTimeoutMs: c.haproxyTimeoutMs,
          maxConnectionsPerIp: c.limits.maxConnectionsPerIp,
          limits: { maxLineLength: c.limits.maxLineLength, idleTimeoutMs: c.limits.preAuthIdleTimeoutMs },
          refuseLine: REFUSE_LINES[lc.protocol],
          log: this.log,
        },
        (conn) => HANDLERS[lc.protocol](conn, ctx),
      );
      this.listeners.push({ config: lc, listener });
      this.log.info('listening', {
        protocol: lc.protocol,
        address: lc.address,
        port: lc.port,
        ssl: lc.ssl,
        haproxy: lc.haproxy,
      });
    }
    this.log.info('usherd started', {
      backends: this.hosts.size,
      hostsHash: this.hosts.hostsHash(),
      listeners: this.listeners.length,
    });
    // last, so "ready" on /readyz also means every listener is bound
    await this.observability.start();
  }

  /** Stop accepting, let sessions end until the deadline, then close the rest with each protocol's goodbye. */
  stop(deadlineMs = this.config.shutdownTimeoutMs): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('shutting down', { sessions: this.registry.size, deadlineMs });
      this.observability.draining();
      await Promise.all(this.listeners.map((l) => l.listener.stopAccepting()));
      const until = Date.now() + deadlineMs;
      while (this.registry.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const kicked = this.registry.kickAll('Server shutting down.');
      for (const { config, listener } of this.listeners) listener.closeAll(SHUTDOWN_LINES[config.protocol]);
      this.registry.stopRefresh();
      this.health?.stop();
      await this.admin?.close();
      await this.adminGrpc?.close();
      await this.ring?.stop();
      await this.observability.stop();
      this.log.info('stopped', { kicked });
    })();
    return this.stopping;
  }

  /** Where each listener is bound (port 0 in a config picks a free port). */
  addresses(): Array<{ protocol: Protocol; address: string; port: number; ssl: boolean }> {
    return this.listeners.map(({ config, listener }) => ({
      protocol: config.protocol,
      ssl: config.ssl,
      ...listener.address(),
    }));
  }

  private secureContext(): SecureContext | undefined {
    const { sslCert, sslKey } = this.config;
    if (!sslCert && !sslKey) return undefined;
    if (!sslCert || !sslKey)
      throw new ConfigError('ssl_cert and ssl_key must be set together', { setting: sslCert ? 'ssl_key' : 'ssl_cert' });
    try {
      return createSecureContext({ cert: readFileSync(sslCert), key: readFileSync(sslKey) });
    } catch (e) {
      throw new ConfigError(`cannot load ssl_cert/ssl_key: ${(e as Error).message}`, { setting: 'ssl_cert' });
    }
  }

  private context(lc: ListenerConfig, tls: SecureContext | undefined): ProxyContext {
    const c = this.config;
    const backendTls: BackendTlsOptions | undefined =
      c.backend.ssl === 'no'
        ? undefined
        : {
            mode: c.backend.ssl === 'yes' ? 'implicit' : 'starttls',
            verify: c.backend.sslVerify,
            ...(c.backend.sslCa ? { ca: readFileSync(c.backend.sslCa) } : {}),
          };
    return {
      router: this.router,
      registry: this.registry,
      log: this.log,
      limits: {
        maxLineLength: c.limits.maxLineLength,
        maxPreAuthLiteral: c.limits.maxPreAuthLiteral,
        preAuthIdleTimeoutMs: c.limits.preAuthIdleTimeoutMs,
        maxBadCommands: c.limits.maxBadCommands,
        authFailureDelayMs: c.limits.authFailureDelayMs,
        maxAuthAttempts: c.limits.maxAuthAttempts,
        backendConnectTimeoutMs: c.limits.backendConnectTimeoutMs,
        backendLoginTimeoutMs: c.limits.backendConnectTimeoutMs,
        lmtpBackendTimeoutMs: c.limits.lmtpBackendTimeoutMs,
        lmtpMaxMessageSize: c.limits.lmtpMaxMessageSize,
      },
      ...(tls ? { tls } : {}),
      backendPorts: c.backend.ports,
      ...(backendTls ? { backendTls } : {}),
      masterSeparator: c.masterSeparator,
      tag: lc.tag,
      greetingName: 'Usher',
      proxyTtl: c.proxyTtl,
      sieveCapability: c.sieveCapability,
      events: this.observability.events,
    };
  }
}
