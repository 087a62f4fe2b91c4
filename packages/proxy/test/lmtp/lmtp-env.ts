import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DovecotCluster,
  type FaultProxy,
  requireDovecot,
  startDovecotBackends,
  startFaultProxy,
} from '@usher/testkit';
import { expect } from 'vitest';
import { makeTestCerts, type TestCerts } from '../harness/test-proxy.js';
import { findDeliveries, type LmtpProxy, placementRouter, startLmtpProxy, usersPerHost } from './lmtp-harness.js';

export const BACKENDS = ['127.0.5.1', '127.0.5.2', '127.0.5.3'] as const;
/** Nothing listens here: a backend that is down. */
export const DOWN = '127.0.5.9';
/** A fault proxy in front of 127.0.5.2's LMTP port. */
export const FAULTY = '127.0.5.21';

export interface TestProxy {
  readonly port: number;
  /** One user per host, in host order; `addrs` are the same at demo.test. */
  readonly users: string[];
  readonly addrs: string[];
}

/**
 * The Dovecot backends (one set for the whole LMTP suite: their addresses are this suite's alone),
 * the fault proxy, and a factory for proxies that are all closed at the end.
 */
export class LmtpEnv {
  root = '';
  private clusterRef: DovecotCluster | undefined;
  private certsRef: TestCerts | undefined;
  private faultRef: FaultProxy | undefined;
  private readonly proxies: LmtpProxy[] = [];

  async start(): Promise<void> {
    requireDovecot({ swaks: true });
    this.root = mkdtempSync(join(tmpdir(), 'usher-lmtp-'));
    this.certsRef = makeTestCerts();
    this.clusterRef = await startDovecotBackends({ root: this.root, ips: [...BACKENDS], users: 40 });
    this.faultRef = await startFaultProxy({ host: FAULTY, port: 24, targetHost: '127.0.5.2', targetPort: 24 });
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
    await this.faultRef?.close();
    await this.clusterRef?.stop();
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    if (this.certsRef) rmSync(this.certsRef.dir, { recursive: true, force: true });
  }

  get cluster(): DovecotCluster {
    if (!this.clusterRef) throw new Error('backends did not start');
    return this.clusterRef;
  }

  get certs(): TestCerts {
    if (!this.certsRef) throw new Error('certificates were not made');
    return this.certsRef;
  }

  get fault(): FaultProxy {
    if (!this.faultRef) throw new Error('fault proxy did not start');
    return this.faultRef;
  }

  /** A proxy on 127.0.15.1:port routing by placement over `hosts`. */
  async proxy(
    port: number,
    hosts: readonly string[] = BACKENDS,
    opts: Parameters<typeof startLmtpProxy>[2] = {},
  ): Promise<TestProxy> {
    const router = placementRouter(hosts);
    const p = await startLmtpProxy(port, router, opts);
    this.proxies.push(p);
    const users = usersPerHost(router, hosts, this.cluster.users);
    return { port, users, addrs: users.map((u) => `${u}@demo.test`) };
  }

  /** swaks argument for a body too large for argv. */
  bodyFile(name: string, content: string | Buffer): string {
    const path = join(this.root, name);
    writeFileSync(path, content);
    return `@${path}`;
  }

  track(p: LmtpProxy): void {
    this.proxies.push(p);
  }

  /** This user has the message exactly once, on this backend and no other; returns it. */
  expectDeliveredOnce(marker: string, ip: string, user: string): string {
    const found = findDeliveries(this.cluster, marker).filter((f) => f.user === user);
    expect(found.map((f) => `${f.user}@${f.ip}`)).toEqual([`${user}@${ip}`]);
    return readFileSync((found[0] as { file: string }).file, 'latin1');
  }
}
