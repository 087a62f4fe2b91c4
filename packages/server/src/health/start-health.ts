import { readFileSync } from 'node:fs';
import { BackendProber, HealthMonitor, type ProbeTls } from '@usher/health';
import { RealScheduler, type RingNode } from '@usher/ring';
import { ConfigError, type UsherConfig } from '../config/load-config.js';
import type { UsherLogger } from '../log/logger.js';

/**
 * Start this node's backend health checks: probes that reach the backends the way the proxy does
 * (same ports, same TLS), and a monitor that agrees with the rest of the ring through the ring's
 * HostHealthSink. Returns undefined when health_checks is off.
 */
export function startHealth(opts: {
  config: UsherConfig;
  ring: RingNode;
  log: UsherLogger;
}): HealthMonitor | undefined {
  const { config: c, ring, log } = opts;
  const h = c.health;
  if (!h.enabled) return undefined;
  const prober = new BackendProber({
    protocols: h.protocols,
    ports: { imap: c.backend.ports.imap, pop3: c.backend.ports.pop3, lmtp: c.backend.ports.lmtp },
    timeoutMs: h.timeoutMs,
    ...(h.user !== '' ? { login: { user: h.user, password: h.password } } : {}),
    ...(h.lmtpRcpt !== '' ? { lmtpRcpt: h.lmtpRcpt } : {}),
    ...(probeTls(c) ? { tls: probeTls(c) } : {}),
    heloName: c.nodeName,
  });
  const monitor = new HealthMonitor({
    sink: ring.healthSink({ maxParallelMoves: c.ring.maxParallelMoves }),
    prober,
    clock: new RealScheduler(),
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    failCount: h.failCount,
    okCount: h.okCount,
    moveUsersAfterMs: h.moveUsersAfterMs,
    log,
  });
  monitor.start();
  log.info('health checks started', {
    protocols: h.protocols.join(' '),
    intervalMs: h.intervalMs,
    failCount: h.failCount,
    okCount: h.okCount,
    login: h.user !== '',
    moveUsersAfterMs: h.moveUsersAfterMs,
  });
  return monitor;
}

function probeTls(c: UsherConfig): ProbeTls | undefined {
  if (c.backend.ssl === 'no') return undefined;
  let ca: Buffer | undefined;
  if (c.backend.sslCa) {
    try {
      ca = readFileSync(c.backend.sslCa);
    } catch (e) {
      throw new ConfigError(`cannot load backend.ssl_ca: ${(e as Error).message}`, { setting: 'backend.ssl_ca' });
    }
  }
  return {
    mode: c.backend.ssl === 'yes' ? 'implicit' : 'starttls',
    verify: c.backend.sslVerify,
    ...(ca ? { ca } : {}),
  };
}
