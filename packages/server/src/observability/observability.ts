import type { ProxyEvents } from '@usher/proxy';
import type { UsherLogger } from '../log/logger.js';
import { type ObservabilityHttpServer, type Readiness, startObservabilityServer } from './http-server.js';
import { parseListenAddress } from './listen-address.js';
import { type ObservedNode, UsherMetrics } from './metrics.js';

/** The settings observability reads (a slice of UsherConfig). */
export interface ObservedConfig {
  readonly metricsListen: string;
  readonly sslCert: string;
  readonly ring: { readonly sslCert: string };
}

/**
 * The node's metrics and probes. Built with the node (the proxy contexts need `events` before any
 * listener starts); the HTTP endpoint opens in start() and only if metrics_listen is set. Counting
 * happens either way, so turning the endpoint on later changes nothing on the login path.
 */
export class Observability {
  readonly metrics: UsherMetrics;
  private server: ObservabilityHttpServer | undefined;
  private stopping = false;

  private readonly listen: string;

  constructor(
    private readonly node: ObservedNode,
    private readonly config: ObservedConfig,
    private readonly log: UsherLogger,
  ) {
    this.metrics = new UsherMetrics(node);
    this.listen = config.metricsListen;
  }

  get events(): ProxyEvents {
    return this.metrics.events;
  }

  /** Ready = the ring state is here (handshaked with a peer, or alone) and we are not shutting down. */
  readiness(): Readiness {
    if (this.stopping) return { ready: false, reason: 'shutting down' };
    const ring = this.node.ring;
    if (!ring) return { ready: false, reason: 'starting' };
    const s = ring.status();
    if (!s.ready) return { ready: false, reason: 'waiting for the ring state from a peer' };
    const up = s.peers.filter((p) => p.state === 'up').length;
    return { ready: true, reason: `${up}/${s.peers.length} peers linked${s.synced ? ', synced' : ''}` };
  }

  async start(): Promise<void> {
    if (this.listen === '') return;
    this.metrics.setCertificates(
      [
        { setting: 'ssl_cert', path: this.config.sslCert },
        { setting: 'director_ring_ssl_cert', path: this.config.ring.sslCert },
      ].filter((c) => c.path !== ''),
    );
    const listen = parseListenAddress(this.listen);
    if (!listen) throw new Error(`metrics_listen: not an ip:port: ${this.listen}`);
    this.server = await startObservabilityServer({
      listen,
      metrics: () => this.metrics.render(),
      readiness: () => this.readiness(),
    });
    this.log.info('metrics listening', { ...this.server.address(), paths: '/metrics /healthz /readyz' });
  }

  /** From now on /readyz says no, so load balancers stop sending new clients while sessions drain. */
  draining(): void {
    this.stopping = true;
  }

  address(): { host: string; port: number } | undefined {
    return this.server?.address();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.server?.close();
    this.server = undefined;
  }
}
