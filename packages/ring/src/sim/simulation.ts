import { HostTable, type Route, UserHasher } from '@usher/core';
import { MemoryNetwork, type MemoryNetworkOptions } from '../memory-transport.js';
import { RingNode } from '../ring-node.js';
import type { RingLog, RingNodeOptions } from '../ring-options.js';
import { SimScheduler } from '../scheduler.js';
import { RecordingKicks } from './recording-kicks.js';
import { SessionChecker } from './session-checker.js';

export interface RingSimulationOptions {
  /** Member ids, or how many (127.0.1.1:9090, 127.0.1.2:9090, ...). */
  readonly nodes: number | readonly string[];
  /** Backend IPs every node is configured with. */
  readonly backends: readonly string[];
  readonly seed?: number;
  readonly network?: Partial<Omit<MemoryNetworkOptions, 'scheduler' | 'seed'>>;
  /** Overrides of the node options (the simulation defaults are short timeouts). */
  readonly node?: Partial<Omit<RingNodeOptions, 'self' | 'members' | 'transport' | 'scheduler' | 'hosts' | 'kicks'>>;
  /** Keep log lines (warn and error always; info too when true). */
  readonly verboseLog?: boolean;
  /** The members a node is configured with (default: every node): to model a newcomer the ring does not list. */
  readonly membersOf?: (id: string) => readonly string[];
}

interface SimNode {
  readonly node: RingNode;
  readonly kicks: RecordingKicks;
}

/**
 * A whole ring in one process, in virtual time, over the in-memory network: what the ring tests and
 * the join bench drive. Every login routed through `route` opens a simulated session the invariant
 * checker watches.
 */
export class RingSimulation {
  readonly scheduler = new SimScheduler();
  readonly net: MemoryNetwork;
  readonly checker: SessionChecker;
  readonly ids: readonly string[];
  readonly log: string[] = [];
  /** What the simulation did (faults, logins, kicks), for explaining a failure. */
  readonly trace: string[] = [];
  private readonly opts: RingSimulationOptions;
  private readonly hasher: UserHasher;
  private readonly live = new Map<string, SimNode>();
  readonly expireSecs: number;

  constructor(opts: RingSimulationOptions) {
    this.opts = opts;
    this.ids =
      typeof opts.nodes === 'number'
        ? Array.from({ length: opts.nodes }, (_, i) => `127.0.1.${i + 1}:9090`)
        : [...opts.nodes];
    this.net = new MemoryNetwork({
      scheduler: this.scheduler,
      seed: opts.seed ?? 1,
      connectTimeoutMs: 500,
      ...opts.network,
    });
    this.hasher = opts.node?.hasher ?? new UserHasher();
    this.expireSecs = opts.node?.userExpireSecs ?? 60;
    this.checker = new SessionChecker(this.expireSecs);
  }

  node(id: string): RingNode {
    const n = this.live.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.node;
  }

  kicksOf(id: string): RecordingKicks {
    const n = this.live.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n.kicks;
  }

  liveIds(): string[] {
    return this.ids.filter((id) => this.live.has(id));
  }

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  async start(ids: readonly string[] = this.ids): Promise<void> {
    for (const id of ids) await this.boot(id);
    if (!this.sampling) {
      this.sampling = true;
      this.sampleLinks();
    }
  }

  private sampling = false;

  /** Which running nodes are connected by open links, every 50 ms, for the invariant's exception. */
  private sampleLinks(): void {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r) as string;
      return r;
    };
    const live = this.liveIds();
    for (const id of live) parent.set(id, id);
    for (const id of live) {
      for (const p of this.node(id).status().peers) {
        if (p.state === 'up' && parent.has(p.node)) parent.set(find(p.node), find(id));
      }
    }
    const roots = new Map<string, number>();
    const of = new Map<string, number>();
    for (const id of live) {
      const r = find(id);
      if (!roots.has(r)) roots.set(r, roots.size);
      of.set(id, roots.get(r) as number);
    }
    this.checker.linked(this.scheduler.now(), of);
    this.scheduler.setTimeout(() => this.sampleLinks(), 50);
  }

  /** The node dies with its sessions and state (silent: its machine vanishes; else its connections reset). */
  crash(id: string, opts: { silent?: boolean } = {}): void {
    const n = this.live.get(id);
    if (!n) return;
    this.live.delete(id);
    this.note(`crash ${id}${opts.silent ? ' (silent)' : ''}`);
    this.net.crash(id, opts);
    // its timers must not run on: the process is gone
    void n.node.stop().catch(() => {});
    this.checker.crashed(id);
  }

  async restart(id: string): Promise<void> {
    this.crash(id);
    await this.boot(id);
  }

  partition(...groups: string[][]): void {
    this.note(`partition ${groups.map((g) => g.join(',')).join(' | ')}`);
    this.net.partition(...groups);
    this.checker.partition(this.scheduler.now(), groups);
  }

  heal(): void {
    this.note('heal');
    this.net.heal();
    this.checker.heal(this.scheduler.now());
  }

  advance(ms: number): Promise<void> {
    return this.scheduler.advance(ms);
  }

  until(done: () => boolean, limitMs: number): Promise<boolean> {
    return this.scheduler.advanceUntil(done, limitMs);
  }

  /**
   * Run virtual time until `p` settles (at most `limitMs`), then return its outcome. Anything that
   * waits on the ring (admin calls, logins that queue) needs time to pass to finish.
   */
  async run<T>(p: Promise<T>, limitMs = 60_000): Promise<T> {
    const t = track(p);
    await this.until(() => t.settled, limitMs);
    if (!t.settled) throw new Error(`still pending after ${limitMs} ms of virtual time`);
    return p;
  }

  /** Route a login on a node; a success opens a simulated session. */
  async route(id: string, username: string, tag = ''): Promise<Route> {
    const r = await this.node(id).router.route(username, tag);
    this.note(`route ${id} ${username} ${r.userHash} -> ${r.backend}`);
    if (this.live.has(id)) {
      this.checker.opened(this.scheduler.now(), { node: id, username, userHash: r.userHash, tag, backend: r.backend });
    }
    return r;
  }

  hash(username: string): number {
    return this.hasher.hash(username);
  }

  /** Every running node holds the same hosts (records and table) and the same users (digests). */
  converged(): boolean {
    return this.divergence() === undefined;
  }

  divergence(): string | undefined {
    const ids = this.liveIds();
    const first = ids[0];
    if (first === undefined) return undefined;
    const ref = this.describe(first);
    for (const id of ids.slice(1)) {
      const d = this.describe(id);
      if (d.hosts !== ref.hosts) return `${id} hosts ${d.hosts} != ${first} hosts ${ref.hosts}`;
      if (d.ledger !== ref.ledger) return `${id} host records differ from ${first}`;
      if (d.digests !== ref.digests) return `${id} users (${d.users}) differ from ${first} (${ref.users})`;
    }
    return undefined;
  }

  private describe(id: string): { hosts: number; ledger: string; digests: string; users: number } {
    const n = this.node(id);
    const ledger = n.state.ledger
      .list()
      .map((r) => `${r.ip}|${r.removed}|${r.tag}|${r.vhostCount}|${r.down}|${r.version.ms}.${r.version.counter}`)
      .join(',');
    const d = n.digests();
    return {
      hosts: n.state.hostsHash(),
      ledger,
      digests: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64'),
      users: n.state.users.size,
    };
  }

  async stopAll(): Promise<void> {
    for (const id of this.liveIds()) {
      const n = this.live.get(id);
      this.live.delete(id);
      await n?.node.stop();
    }
  }

  /** Trace lines mentioning `text` (a user hash, a node id). */
  traceOf(text: string): string[] {
    return this.trace.filter((l) => l.includes(text));
  }

  private note(line: string): void {
    this.trace.push(`${this.scheduler.now()} ${line}`);
  }

  private async boot(id: string): Promise<void> {
    this.note(`start ${id}`);
    const hosts = new HostTable();
    for (const ip of this.opts.backends) hosts.set({ ip });
    const kicks = new RecordingKicks(
      () => this.scheduler.now(),
      (k) => {
        this.note(`kick ${id} ${k.userHash ?? k.username} except ${k.exceptBackend ?? '-'}`);
        if (k.userHash !== undefined) this.checker.kickedHash(k.atMs, id, k.userHash, k.exceptBackend);
        if (k.username !== undefined) this.checker.kickedUser(id, k.username);
      },
    );
    const node = new RingNode({
      pingIntervalMs: 200,
      pingTimeoutMs: 1000,
      retryFailedMs: 2000,
      syncResendMs: 1000,
      syncTimeoutMs: 10_000,
      userKickDelayMs: 200,
      requestTimeoutMs: 30_000,
      userExpireSecs: this.expireSecs,
      ...this.opts.node,
      self: id,
      members: this.opts.membersOf?.(id) ?? this.ids,
      transport: this.net.transport(id),
      scheduler: this.scheduler,
      hosts,
      hasher: this.hasher,
      kicks,
      log: this.logger(id),
    });
    this.live.set(id, { node, kicks });
    await node.start();
  }

  private logger(id: string): RingLog {
    const line = (level: string, msg: string, ctx?: Record<string, unknown>) => {
      const text = `${this.scheduler.now()} ${id} ${level} ${msg}${ctx ? ` ${JSON.stringify(ctx)}` : ''}`;
      this.log.push(text);
      this.trace.push(text);
    };
    return {
      info: (m, c) => {
        if (this.opts.verboseLog) line('info', m, c);
      },
      warn: (m, c) => line('warn', m, c),
      error: (m, c) => line('error', m, c),
    };
  }
}

/** Whether a promise has settled, observable synchronously. */
export function track<T>(p: Promise<T>): {
  readonly settled: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
} {
  const t = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    (e: unknown) => {
      t.settled = true;
      t.error = e;
    },
  );
  return t;
}
