import { RingSimulation } from '@usher/ring';
import { HealthMonitor, type HealthMonitorOptions, type ProbeResult } from '../src/index.js';

export const BACKENDS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

export interface HealthRingOptions {
  readonly nodes: number;
  readonly seed?: number;
  readonly monitor?: Partial<Pick<HealthMonitorOptions, 'intervalMs' | 'timeoutMs' | 'failCount' | 'okCount'>> & {
    readonly moveUsersAfterMs?: number;
  };
}

/**
 * A ring simulation (virtual time, in-memory network) with a HealthMonitor on every node whose
 * probes answer from a scripted world: a backend can be dead for everyone, or one node's path to
 * it cut. Samples every node's view of every backend, so tests can count flips.
 */
export class HealthRing {
  readonly sim: RingSimulation;
  readonly monitors = new Map<string, HealthMonitor>();
  /** Backends that fail every probe. */
  readonly dead = new Set<string>();
  /** "node|ip": this node's probes of that backend fail (a bad link). */
  readonly cut = new Set<string>();
  /** Per "node|ip": how often that node saw the backend's down flag change. */
  readonly flips = new Map<string, number>();
  private readonly last = new Map<string, boolean>();
  private readonly opts: HealthRingOptions;

  constructor(opts: HealthRingOptions) {
    this.opts = opts;
    this.sim = new RingSimulation({ nodes: opts.nodes, backends: BACKENDS, seed: opts.seed ?? 7 });
  }

  get ids(): readonly string[] {
    return this.sim.ids;
  }

  get now(): number {
    return this.sim.scheduler.now();
  }

  async start(): Promise<void> {
    await this.sim.start();
    const ready = await this.sim.until(
      () => this.sim.liveIds().every((id) => this.sim.node(id).status().ready),
      20_000,
    );
    if (!ready) throw new Error('ring did not become ready');
    for (const id of this.sim.liveIds()) this.attach(id);
    this.sample();
  }

  /** Whether `id` sees the backend down now. */
  down(id: string, ip: string): boolean {
    return this.sim.node(id).state.hosts.get(ip)?.down === true;
  }

  /** Every live node sees the backend in this state. */
  all(ip: string, down: boolean): boolean {
    return this.sim.liveIds().every((id) => this.down(id, ip) === down);
  }

  manual(id: string, ip: string): boolean {
    const r = this.sim.node(id).state.ledger.get(ip);
    return r?.down === true && r.healthDown !== true;
  }

  /** The largest number of flips any node saw for the backend. */
  maxFlips(ip: string): number {
    let max = 0;
    for (const [key, n] of this.flips) if (key.endsWith(`|${ip}`)) max = Math.max(max, n);
    return max;
  }

  crash(id: string): void {
    this.monitors.get(id)?.stop();
    this.monitors.delete(id);
    this.sim.crash(id);
  }

  async restart(id: string): Promise<void> {
    this.crash(id);
    await this.sim.restart(id);
    this.attach(id);
  }

  async stop(): Promise<void> {
    for (const m of this.monitors.values()) m.stop();
    this.monitors.clear();
    await this.sim.stopAll();
  }

  private attach(id: string): void {
    const scheduler = this.sim.scheduler;
    const m = this.opts.monitor ?? {};
    const monitor = new HealthMonitor({
      sink: this.sim.node(id).healthSink({ maxParallelMoves: 10 }),
      prober: {
        // answers after a few ms of virtual time, as a real probe would
        probe: (ip) =>
          new Promise<ProbeResult>((resolve) => {
            const ok = !this.dead.has(ip) && !this.cut.has(`${id}|${ip}`);
            scheduler.setTimeout(() => resolve({ ok, detail: ok ? '' : 'scripted failure' }), 5);
          }),
      },
      clock: scheduler,
      intervalMs: m.intervalMs ?? 1000,
      timeoutMs: m.timeoutMs ?? 500,
      failCount: m.failCount ?? 3,
      okCount: m.okCount ?? 2,
      moveUsersAfterMs: m.moveUsersAfterMs ?? 0,
    });
    this.monitors.set(id, monitor);
    monitor.start();
  }

  private sample(): void {
    for (const id of this.sim.liveIds()) {
      for (const ip of BACKENDS) {
        const key = `${id}|${ip}`;
        const d = this.down(id, ip);
        const before = this.last.get(key);
        if (before !== undefined && before !== d) this.flips.set(key, (this.flips.get(key) ?? 0) + 1);
        this.last.set(key, d);
      }
    }
    this.sim.scheduler.setTimeout(() => this.sample(), 50);
  }
}
