export type Phase = 'login' | 'throughput' | 'memory';
const PHASES: readonly Phase[] = ['login', 'throughput', 'memory'];

/** node:util parseArgs options of the proxy bench, shared with the all-benches entry point. */
export const proxyArgSpec = {
  seconds: { type: 'string' },
  clients: { type: 'string' },
  sessions: { type: 'string' },
  'size-mb': { type: 'string' },
  fetches: { type: 'string' },
  phases: { type: 'string' },
} as const;

export const PROXY_USAGE =
  '[--seconds 20] [--clients 50] [--sessions 10000] [--size-mb 20] [--fetches 5] [--phases login,throughput,memory]';

export interface ProxyBenchOptions {
  /** Length of each login-rate run (through usherd, and direct). */
  seconds: number;
  clients: number;
  /** Idle sessions held for the memory figure (capped by the open-files limit). */
  sessions: number;
  sizeMb: number;
  fetches: number;
  phases: ReadonlySet<Phase>;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${raw}`);
  return n;
}

export function proxyOptions(values: Partial<Record<keyof typeof proxyArgSpec, string>>): ProxyBenchOptions {
  const phases = (values.phases ?? PHASES.join(',')).split(',').map((p) => p.trim());
  for (const p of phases) {
    if (!PHASES.includes(p as Phase)) throw new Error(`--phases: unknown phase ${p} (have ${PHASES.join(', ')})`);
  }
  return {
    seconds: positive('seconds', values.seconds, 20),
    clients: Math.round(positive('clients', values.clients, 50)),
    sessions: Math.round(positive('sessions', values.sessions, 10_000)),
    sizeMb: positive('size-mb', values['size-mb'], 20),
    fetches: Math.round(positive('fetches', values.fetches, 5)),
    phases: new Set(phases as Phase[]),
  };
}
