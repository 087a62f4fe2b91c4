import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProxyEvents, SessionRegistry } from '@usher/proxy';
import type { RingNode, RingStatus } from '@usher/ring';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from a running node at scrape time; `ring` is unset until the node has started. */
export interface ObservedNode {
  readonly registry: SessionRegistry;
  readonly ring: RingNode | undefined;
  /**
   * Backend health checks, when they run. Structural on purpose: the metrics need the verdicts
   * only, not the health package.
   */
  readonly health?: { status(): ReadonlyArray<{ readonly ip: string; readonly verdict: string }> } | undefined;
}

/** The verdicts a health check can reach (one series each, 1 for the current one). */
const HEALTH_VERDICTS = ['unknown', 'ok', 'failing'];

/**
 * Routing is a table lookup (well under a millisecond) unless the user waits for the ring: a move
 * in flight (user_kick_delay, 2 s) or a host change not yet agreed (up to the sync timeout, 30 s).
 * The buckets cover both regimes so a histogram_quantile shows which one users are in.
 */
const ROUTING_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 2.5, 5, 10, 30];

/**
 * usherd's Prometheus metrics. Counters and the histogram are fed by the proxy's events as things
 * happen; gauges are computed when scraped from the session registry and the ring, so they cost
 * nothing between scrapes and can never drift from the state they describe.
 */
export class UsherMetrics {
  readonly registry = new Registry();
  readonly events: ProxyEvents;

  constructor(node: ObservedNode) {
    const register = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const logins = new Counter({
      name: 'usher_logins_total',
      help: 'Login attempts by protocol and result: ok, failed (backend rejected the credentials), tempfail (no backend reachable).',
      labelNames: ['protocol', 'result'],
      registers: register,
    });
    const routing = new Histogram({
      name: 'usher_routing_duration_seconds',
      help: 'Time to choose the backend of a user (Router.route), by protocol and outcome.',
      labelNames: ['protocol', 'result'],
      buckets: ROUTING_BUCKETS,
      registers: register,
    });
    // the proxy calls these on its login path: a metrics failure must never fail a login
    this.events = {
      onLogin(protocol, result) {
        try {
          logins.inc({ protocol, result });
        } catch {}
      },
      onRoute(protocol, seconds, ok) {
        try {
          routing.observe({ protocol, result: ok ? 'ok' : 'error' }, seconds);
        } catch {}
      },
    };

    new Gauge({
      name: 'usher_sessions',
      help: 'Logged-in (proxied) sessions on this node by protocol and backend.',
      labelNames: ['protocol', 'backend'],
      registers: register,
      collect() {
        this.reset();
        const counts = new Map<string, { protocol: string; backend: string; n: number }>();
        for (const s of node.registry.list()) {
          const key = `${s.protocol}\0${s.backend}`;
          const entry = counts.get(key) ?? { protocol: s.protocol, backend: s.backend, n: 0 };
          entry.n++;
          counts.set(key, entry);
        }
        for (const { protocol, backend, n } of counts.values()) this.set({ protocol, backend }, n);
      },
    });
    new Gauge({
      name: 'usher_users',
      help: 'Users assigned to each backend in the replicated user directory (the same on every synced node).',
      labelNames: ['backend', 'tag'],
      registers: register,
      collect() {
        this.reset();
        const state = node.ring?.state;
        if (!state) return;
        for (const h of state.hosts.list())
          this.set({ backend: h.ip.text, tag: h.tag }, state.users.directory.countByHost(h.id));
      },
    });
    new Gauge({
      name: 'usher_backend_vhosts',
      help: 'Vhost count (weight) of each backend in the host table; 0 takes no new users.',
      labelNames: ['backend', 'tag'],
      registers: register,
      collect() {
        this.reset();
        for (const h of node.ring?.state.hosts.list() ?? []) this.set({ backend: h.ip.text, tag: h.tag }, h.vhostCount);
      },
    });
    new Gauge({
      name: 'usher_backend_down',
      help: '1 if the backend is marked down in the host table (no new users), else 0.',
      labelNames: ['backend', 'tag'],
      registers: register,
      collect() {
        this.reset();
        for (const h of node.ring?.state.hosts.list() ?? [])
          this.set({ backend: h.ip.text, tag: h.tag }, h.down ? 1 : 0);
      },
    });
    const ringGauge = (name: string, help: string, read: (s: RingStatus) => number) =>
      new Gauge({
        name,
        help,
        registers: register,
        collect() {
          const ring = node.ring;
          if (ring) this.set(read(ring.status()));
        },
      });
    ringGauge('usher_ring_ready', '1 once the node has the ring state (from a peer, or it found itself alone).', (s) =>
      s.ready ? 1 : 0,
    );
    ringGauge('usher_ring_synced', '1 when no sync round is in flight and the host table is agreed ring-wide.', (s) =>
      s.synced ? 1 : 0,
    );
    ringGauge('usher_ring_alone', '1 when the node has no live link to any peer.', (s) => (s.alone ? 1 : 0));
    ringGauge(
      'usher_ring_sync_lag_seconds',
      'Age of the sync round in flight (0 when none): how far behind the ring confirmation is.',
      (s) => (s.syncLagMs ?? 0) / 1000,
    );
    ringGauge(
      'usher_ring_last_sync_round_seconds',
      'Duration of the last completed sync round around the ring.',
      (s) => (s.lastSyncRoundMs ?? 0) / 1000,
    );
    ringGauge('usher_ring_users', 'User assignments known to this node.', (s) => s.users);
    ringGauge(
      'usher_ring_hosts_hash',
      "Dovecot's hosts_hash of this node's host table: equal on every node when they agree.",
      (s) => s.hostsHash,
    );
    ringGauge('usher_ring_moving_users', 'Users in a move (their logins wait).', (s) => s.movingUsers);
    ringGauge(
      'usher_ring_waiting_requests',
      'Logins waiting for the ring (moves, unagreed host changes).',
      (s) => s.waitingRequests,
    );
    new Gauge({
      name: 'usher_backend_health',
      help: "This node's health-check verdict per backend: 1 on the current verdict (unknown, ok, failing), 0 on the others.",
      labelNames: ['backend', 'verdict'],
      registers: register,
      collect() {
        this.reset();
        for (const b of node.health?.status() ?? [])
          for (const verdict of HEALTH_VERDICTS) this.set({ backend: b.ip, verdict }, b.verdict === verdict ? 1 : 0);
      },
    });
    new Gauge({
      name: 'usher_ring_peers',
      help: 'Other ring members by link state: up, connecting, failed, idle.',
      labelNames: ['state'],
      registers: register,
      collect() {
        this.reset();
        const ring = node.ring;
        if (!ring) return;
        const counts: Record<string, number> = { up: 0, connecting: 0, failed: 0, idle: 0 };
        for (const p of ring.status().peers) counts[p.state] = (counts[p.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'usher_ring_peer_rtt_seconds',
      help: 'Round-trip time of the ring link to each linked peer.',
      labelNames: ['peer'],
      registers: register,
      collect() {
        this.reset();
        for (const p of node.ring?.status().peers ?? [])
          if (p.rttMs !== undefined) this.set({ peer: p.node }, p.rttMs / 1000);
      },
    });
  }

  /**
   * Expiry of the certificates this node loaded at start (ssl_cert, director_ring_ssl_cert), so an
   * alert can fire weeks ahead: an expired ring certificate isolates the node from its peers.
   */
  setCertificates(certs: ReadonlyArray<{ readonly setting: string; readonly path: string }>): void {
    const gauge = new Gauge({
      name: 'usher_certificate_expiry_timestamp_seconds',
      help: 'notAfter of each certificate loaded at start (unix seconds), by the setting naming it.',
      labelNames: ['setting'],
      registers: [this.registry],
    });
    for (const { setting, path } of certs) {
      try {
        const validTo = Date.parse(new X509Certificate(readFileSync(path)).validTo);
        if (Number.isFinite(validTo)) gauge.set({ setting }, validTo / 1000);
      } catch {
        // unreadable or not PEM: the node's own start reports that, by setting
      }
    }
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
