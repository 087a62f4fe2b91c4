import { Rng } from './rng.js';

/** One fault and how long it lasts; the runner heals it `durationMs` after injecting it. */
export type Fault =
  | { readonly kind: 'kill-node'; readonly node: number }
  | { readonly kind: 'freeze-node'; readonly node: number }
  | { readonly kind: 'cut-link'; readonly a: number; readonly b: number }
  | { readonly kind: 'blackhole-link'; readonly a: number; readonly b: number }
  | { readonly kind: 'isolate-node'; readonly node: number }
  | { readonly kind: 'stop-backend'; readonly backend: number }
  // admin operations through a node's director-admin socket; instantaneous (no heal)
  | { readonly kind: 'move-user'; readonly node: number; readonly user: number; readonly backend: number }
  | { readonly kind: 'flush-host'; readonly node: number; readonly backend: number }
  | { readonly kind: 'remove-host'; readonly node: number; readonly backend: number }
  | { readonly kind: 'add-host'; readonly node: number; readonly backend: number }
  // HOST-REMOVE alone, which drops the users without a kick (Dovecot documents it as unsafe). Never
  // drawn at random: a crafted schedule uses it to show the checker catches a real double login.
  | { readonly kind: 'unsafe-remove-host'; readonly node: number; readonly backend: number };

export interface ScheduledFault {
  readonly atMs: number;
  /** 0 for instantaneous admin operations. */
  readonly durationMs: number;
  readonly fault: Fault;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Faults are injected and healed within [warmupMs, warmupMs + faultWindowMs]. */
  readonly warmupMs: number;
  readonly faultWindowMs: number;
  readonly nodes: number;
  readonly backends: number;
  readonly users: number;
  /** Mean gap between two fault injections. */
  readonly meanGapMs: number;
  /** Whether admin operations can be sent (the node has a director-admin socket). */
  readonly admin: boolean;
}

type Kind = Fault['kind'];

// relative frequencies; admin kinds only when an admin socket exists
const WEIGHTS: ReadonlyArray<[Kind, number, boolean]> = [
  ['kill-node', 3, false],
  ['freeze-node', 3, false],
  ['cut-link', 3, false],
  ['blackhole-link', 2, false],
  ['isolate-node', 1, false],
  ['stop-backend', 2, false],
  ['move-user', 4, true],
  ['flush-host', 2, true],
  ['remove-host', 1, true],
  ['add-host', 1, true],
];

/**
 * A reproducible fault schedule: the same options give the same list. Node faults never overlap on
 * one node, at most one node is down or frozen at a time (so every user always has a way in), at most
 * one backend is stopped at a time, and every fault is healed before the window ends, so the campaign
 * can check that the cluster converges afterwards.
 */
export function makeSchedule(o: ScheduleOptions): ScheduledFault[] {
  const rng = Rng.derive(o.seed, 'schedule');
  const out: ScheduledFault[] = [];
  const end = o.warmupMs + o.faultWindowMs;
  // when each resource becomes free again
  const nodeBusy = new Array<number>(o.nodes).fill(0);
  const backendBusy = new Array<number>(o.backends).fill(0);
  let nodeDownUntil = 0;
  let backendDownUntil = 0;
  // a removed backend is added back later by the schedule itself (add-host only for removed ones)
  const removed = new Set<number>();
  const kinds = WEIGHTS.filter(([, , admin]) => o.admin || !admin);
  const total = kinds.reduce((s, [, w]) => s + w, 0);
  let t = o.warmupMs;
  for (;;) {
    t += Math.round(o.meanGapMs * (0.5 + rng.next()));
    if (t >= end - 2000) break;
    const until = Math.min(t + rng.int(2000, 7000), end);
    let r = rng.next() * total;
    let kind: Kind = 'kill-node';
    for (const [k, w] of kinds) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const fault = pickTargets(kind, until);
    if (!fault) continue;
    out.push({ atMs: t, durationMs: isInstant(fault) ? 0 : until - t, fault });
    // the hard case for the invariant: users moved while a node that holds their sessions cannot hear
    // the kick; that node must kick them as soon as it is back
    if (o.admin && (fault.kind === 'freeze-node' || fault.kind === 'isolate-node') && rng.chance(0.7)) {
      const others = range(o.nodes).filter((n) => n !== fault.node);
      const at = Math.round((t + until) / 2);
      for (const user of rng.sample(range(o.users), 3)) {
        const fault: Fault = { kind: 'move-user', node: rng.pick(others), user, backend: rng.int(0, o.backends - 1) };
        out.push({ atMs: at, durationMs: 0, fault });
      }
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);

  function freeNodes(): number[] {
    return range(o.nodes).filter((n) => nodeBusy[n] !== undefined && (nodeBusy[n] as number) <= t);
  }

  function pickTargets(kind: Kind, until: number): Fault | undefined {
    switch (kind) {
      case 'kill-node':
      case 'freeze-node':
      case 'isolate-node': {
        if (nodeDownUntil > t || o.nodes < 2) return undefined;
        const free = freeNodes();
        if (free.length === 0) return undefined;
        const node = rng.pick(free);
        nodeBusy[node] = until + 1000;
        nodeDownUntil = until + 1000;
        return { kind, node };
      }
      case 'cut-link':
      case 'blackhole-link': {
        const free = freeNodes();
        if (free.length < 2) return undefined;
        const [a, b] = rng.sample(free, 2) as [number, number];
        nodeBusy[a] = until;
        nodeBusy[b] = until;
        return { kind, a: Math.min(a, b), b: Math.max(a, b) };
      }
      case 'stop-backend': {
        if (backendDownUntil > t) return undefined;
        const free = range(o.backends).filter((b) => (backendBusy[b] as number) <= t && !removed.has(b));
        if (free.length === 0) return undefined;
        const backend = rng.pick(free);
        backendBusy[backend] = until + 1000;
        backendDownUntil = until + 1000;
        return { kind, backend };
      }
      case 'move-user': {
        const present = range(o.backends).filter((b) => !removed.has(b));
        return { kind, node: rng.int(0, o.nodes - 1), user: rng.int(0, o.users - 1), backend: rng.pick(present) };
      }
      case 'flush-host': {
        const present = range(o.backends).filter((b) => !removed.has(b));
        return { kind, node: rng.int(0, o.nodes - 1), backend: rng.pick(present) };
      }
      case 'remove-host': {
        // keep at least two backends so users always have somewhere to go
        const present = range(o.backends).filter((b) => !removed.has(b) && (backendBusy[b] as number) <= t);
        if (present.length < 2 || removed.size > 0) return undefined;
        const backend = rng.pick(present);
        removed.add(backend);
        return { kind, node: rng.int(0, o.nodes - 1), backend };
      }
      case 'unsafe-remove-host':
        return undefined;
      case 'add-host': {
        const back = [...removed];
        if (back.length === 0) return undefined;
        const backend = rng.pick(back);
        removed.delete(backend);
        return { kind, node: rng.int(0, o.nodes - 1), backend };
      }
    }
  }
}

/** The schedule ends with every removed backend added back, so the final ledger sees all of them. */
export function removedAtEnd(schedule: readonly ScheduledFault[]): number[] {
  const removed = new Set<number>();
  for (const { fault } of schedule) {
    if (fault.kind === 'remove-host' || fault.kind === 'unsafe-remove-host') removed.add(fault.backend);
    if (fault.kind === 'add-host') removed.delete(fault.backend);
  }
  return [...removed];
}

export function isInstant(f: Fault): boolean {
  return ['move-user', 'flush-host', 'remove-host', 'add-host', 'unsafe-remove-host'].includes(f.kind);
}

/** "kill-node n2", "cut-link n1<->n3", "move-user demo0004 -> 127.0.42.2 via n1" ... */
export function describeFault(
  f: Fault,
  names: { node(i: number): string; backend(i: number): string; user(i: number): string },
): string {
  switch (f.kind) {
    case 'kill-node':
    case 'freeze-node':
    case 'isolate-node':
      return `${f.kind} ${names.node(f.node)}`;
    case 'cut-link':
    case 'blackhole-link':
      return `${f.kind} ${names.node(f.a)}<->${names.node(f.b)}`;
    case 'stop-backend':
      return `${f.kind} ${names.backend(f.backend)}`;
    case 'move-user':
      return `${f.kind} ${names.user(f.user)} -> ${names.backend(f.backend)} via ${names.node(f.node)}`;
    case 'flush-host':
    case 'remove-host':
    case 'add-host':
    case 'unsafe-remove-host':
      return `${f.kind} ${names.backend(f.backend)} via ${names.node(f.node)}`;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
