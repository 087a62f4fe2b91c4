import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostTable, UserHasher } from '@usher/core';
import {
  type KickSink,
  RealScheduler,
  type RingLink,
  type RingLog,
  type RingMessage,
  RingNode,
  type RingNodeOptions,
  type Transport,
} from '@usher/ring';
import { GrpcTransport, type RingTls } from '@usher/ring/grpc';

/** Addresses no test file uses (127.0.28.x belongs to the ring bench), so it can run beside `npm test`. */
export const BENCH_NET = '127.0.28';
export const RING_PORT = 9090;
export const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
export const MAX_NODES = 16;

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export type Security = 'insecure' | 'mtls';

export function nodeIp(i: number): string {
  return `${BENCH_NET}.${i + 1}`;
}

/** The ring's mutual-TLS material, made by the deploy script (one CA, a certificate per node IP). */
export class RingCerts {
  readonly dir: string;

  constructor(ips: readonly string[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'usher-ring-bench-'));
    execFileSync('bash', [join(REPO, 'deploy/certs/make-ring-certs.sh'), this.dir, ...ips], { stdio: 'ignore' });
  }

  tls(ip: string): RingTls {
    return {
      ca: readFileSync(join(this.dir, 'ca.pem')),
      cert: readFileSync(join(this.dir, `${ip}.pem`)),
      key: readFileSync(join(this.dir, `${ip}.key`)),
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Called after the ring handled each message a node received (the handler ran synchronously before). */
export type MessageHook = (message: RingMessage) => void;

/**
 * A transport that hands every received message to a hook after the ring processed it (so the bench
 * sees the moment a node learned something, without polling), and can cut all its links at once
 * (a reconnect with the node's state intact).
 */
export class ObservedTransport implements Transport {
  readonly self: string;
  hook: MessageHook | undefined;
  private readonly inner: Transport;
  private readonly open = new Set<RingLink>();

  constructor(inner: Transport) {
    this.inner = inner;
    this.self = inner.self;
  }

  listen(onLink: (link: RingLink) => void): Promise<void> {
    return this.inner.listen((link) => onLink(this.wrap(link)));
  }

  async connect(peer: string): Promise<RingLink> {
    return this.wrap(await this.inner.connect(peer));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Close every open link (the ring re-links at once, as after a network blip). */
  cut(reason = 'bench: links cut'): void {
    for (const link of [...this.open]) link.close(reason);
  }

  private wrap(link: RingLink): RingLink {
    this.open.add(link);
    link.onClose(() => this.open.delete(link));
    return {
      peer: link.peer,
      direction: link.direction,
      get buffered() {
        return link.buffered;
      },
      send: (m) => link.send(m),
      close: (reason) => link.close(reason),
      onClose: (handler) => link.onClose(handler),
      onMessage: (handler) =>
        link.onMessage((m) => {
          handler(m);
          this.hook?.(m);
        }),
    };
  }
}

export interface BenchRingNode {
  readonly id: string;
  readonly node: RingNode;
  readonly transport: ObservedTransport;
}

const noKicks: KickSink = { kickHash() {}, kickUser() {} };

/** Collects the ring's warnings and errors (a bench run should have none worth reading). */
export class CountingLog implements RingLog {
  warnings = 0;
  errors = 0;
  readonly lines: string[] = [];
  info(): void {}
  warn(message: string, context?: Record<string, unknown>): void {
    // nodes start one after the other: a right neighbour not up yet is expected
    if (message === 'ring: cannot connect to right neighbour') return;
    this.warnings++;
    if (this.lines.length < 20) this.lines.push(`warn ${message} ${JSON.stringify(context ?? {})}`);
  }
  error(message: string, context?: Record<string, unknown>): void {
    this.errors++;
    if (this.lines.length < 20) this.lines.push(`error ${message} ${JSON.stringify(context ?? {})}`);
  }
}

export interface GrpcRingOptions {
  readonly size: number;
  readonly security: Security;
  /** Needed for mTLS: certificates for every node IP. */
  readonly certs?: RingCerts;
  readonly port?: number;
  /** RingNode overrides (batching, expiry...). */
  readonly node?: Partial<Omit<RingNodeOptions, 'self' | 'members' | 'transport' | 'scheduler' | 'hosts' | 'kicks'>>;
  readonly backends?: readonly string[];
}

/**
 * `size` RingNodes in this process, each with its own gRPC transport on 127.0.28.<i+1>, usherd's
 * production timings unless overridden. Nodes are created up front; `start` brings up some of them.
 */
export class GrpcRing {
  readonly ids: string[];
  readonly log = new CountingLog();
  readonly hasher = new UserHasher();
  private readonly opts: GrpcRingOptions;
  private readonly live = new Map<string, BenchRingNode>();

  constructor(opts: GrpcRingOptions) {
    if (opts.size > MAX_NODES) throw new RangeError(`at most ${MAX_NODES} nodes`);
    this.opts = opts;
    const port = opts.port ?? RING_PORT;
    this.ids = Array.from({ length: opts.size }, (_, i) => `${nodeIp(i)}:${port}`);
  }

  get nodes(): BenchRingNode[] {
    return this.ids.filter((id) => this.live.has(id)).map((id) => this.live.get(id) as BenchRingNode);
  }

  get(id: string): BenchRingNode {
    const n = this.live.get(id);
    if (!n) throw new Error(`${id} is not running`);
    return n;
  }

  /** Start nodes; `hook`, when given, sees every message they receive from the first one on. */
  async start(ids: readonly string[] = this.ids, hook?: MessageHook): Promise<BenchRingNode[]> {
    const started: BenchRingNode[] = [];
    for (const id of ids) {
      const ip = id.slice(0, id.lastIndexOf(':'));
      const tls = this.opts.security === 'insecure' ? 'insecure' : (this.opts.certs as RingCerts).tls(ip);
      const grpc = new GrpcTransport({ self: id, tls, members: () => this.ids });
      const transport = new ObservedTransport(grpc);
      transport.hook = hook;
      const hosts = new HostTable();
      for (const b of this.opts.backends ?? BACKENDS) hosts.set({ ip: b });
      const node = new RingNode({
        ...this.opts.node,
        self: id,
        members: this.ids,
        transport,
        scheduler: new RealScheduler(),
        hosts,
        hasher: this.hasher,
        kicks: noKicks,
        log: this.log,
      });
      await node.start();
      const n = { id, node, transport };
      this.live.set(id, n);
      started.push(n);
    }
    return started;
  }

  /**
   * Every running node is ready, has its right link up, and all hold the same host table; then
   * `quietMs` more so start-up re-linking is over.
   */
  async settle(timeoutMs = 30_000, quietMs = 500): Promise<void> {
    const ok = () => {
      const nodes = this.nodes;
      const hash = nodes[0]?.node.status().hostsHash;
      return nodes.every((n) => {
        const s = n.node.status();
        return (
          s.ready &&
          s.hostsHash === hash &&
          (nodes.length === 1 || s.peers.some((p) => p.roles.includes('right') && p.state === 'up'))
        );
      });
    };
    await waitFor(ok, timeoutMs, `ring of ${this.nodes.length} did not settle`);
    await sleep(quietMs);
    await waitFor(ok, timeoutMs, `ring of ${this.nodes.length} did not settle`);
  }

  async stop(ids: readonly string[] = this.ids): Promise<void> {
    for (const id of ids) {
      const n = this.live.get(id);
      if (!n) continue;
      this.live.delete(id);
      await n.node.stop();
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `done` (every few ms, letting I/O run in between) until it holds. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: string, everyMs = 2): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
