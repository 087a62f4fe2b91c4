import type { HealthHost, HealthReport, HostHealthSink } from '@usher/core';
import { isManualDown } from '@usher/core';
import type { RingAdmin } from './ring-admin.js';
import type { RingCore } from './ring-core.js';

export interface RingHealthOptions {
  /** director_max_parallel_moves: concurrent user moves when a long-down backend is emptied (default 100). */
  readonly maxParallelMoves?: number;
}

/**
 * The health checks' view of the ring (core's HostHealthSink): the host table with who set each
 * down state, `health` floods both ways, and host changes written as the health checks' own, which
 * the cluster state refuses to apply over an operator's down.
 */
export class RingHealth implements HostHealthSink {
  private readonly core: RingCore;
  private readonly admin: RingAdmin;
  private readonly maxParallelMoves: number;

  constructor(core: RingCore, admin: RingAdmin, opts: RingHealthOptions) {
    this.core = core;
    this.admin = admin;
    this.maxParallelMoves = opts.maxParallelMoves ?? 100;
  }

  get self(): string {
    return this.core.o.self;
  }

  hosts(): readonly HealthHost[] {
    const ledger = this.core.state.ledger;
    return this.core.state.hosts.list().map((h) => {
      const record = ledger.get(h.ip.text);
      return {
        ip: h.ip.text,
        down: h.down,
        manualDown: record ? isManualDown(record) : h.down,
        lastUpdownChange: h.lastUpdownChange,
      };
    });
  }

  publish(report: HealthReport): void {
    if (!this.core.running) return;
    this.core.floodHealth(
      Math.max(0, Math.round(report.validMs)),
      report.verdicts.map((v) => ({ ip: v.ip, failing: v.failing, sinceMs: Math.round(v.sinceMs) })),
    );
  }

  onReport(handler: (report: HealthReport) => void): void {
    this.core.onHealth((m) =>
      handler({
        node: m.origin,
        validMs: m.validMs,
        verdicts: m.observations.map((o) => ({ ip: o.ip, failing: o.failing, sinceMs: o.sinceMs })),
      }),
    );
  }

  async setHealthDown(ip: string, down: boolean): Promise<void> {
    // a host removed meanwhile has nothing left to mark
    if (!this.core.state.hosts.get(ip)) return;
    await this.admin.setHostDown(ip, down, { health: true });
  }

  async moveUsersOff(ip: string): Promise<{ moved: number; failed: number }> {
    if (!this.core.state.hosts.get(ip)) return { moved: 0, failed: 0 };
    const r = await this.admin.resetHostUsers(ip, this.maxParallelMoves);
    return { moved: r.moved, failed: r.failed };
  }
}
