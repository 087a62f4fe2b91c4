import type { GrpcLogger } from './link.js';

export interface RefusalLimits {
  /** Lines logged per source within one window; later refusals from it are only counted. */
  readonly perWindow: number;
  readonly windowMs: number;
  /** Sources tracked at once; past that, new sources share one budget (a scan from many addresses). */
  readonly maxSources: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = { perWindow: 5, windowMs: 60_000, maxSources: 1024 };

/** Budget of the sources that did not fit in the table. */
const OVERFLOW = '*';

interface Budget {
  windowStart: number;
  logged: number;
  suppressed: number;
}

/**
 * Writes `ring peer refused` (warn) for each refused peer, rate-limited per source IP so that a
 * scanner or a misconfigured node retrying every second cannot flood the log: at most `perWindow`
 * lines per source per window, the last of them marked `rateLimited: true`; refusals past that are
 * counted and the count is reported as `suppressed` on the source's next logged line.
 */
export class RefusalLog {
  readonly #log: GrpcLogger;
  readonly #limits: RefusalLimits;
  readonly #now: () => number;
  readonly #budgets = new Map<string, Budget>();

  readonly #message: string;

  /** `message`: the log line's text; the admin API uses the same limiter for its own refusals. */
  constructor(
    log: GrpcLogger,
    limits: Partial<RefusalLimits> = {},
    now: () => number = Date.now,
    message = 'ring peer refused',
  ) {
    this.#log = log;
    this.#message = message;
    this.#limits = { ...DEFAULT_REFUSAL_LIMITS, ...limits };
    this.#now = now;
  }

  /** `from` is "ip:port" (or just the ip); the budget is the IP's. */
  refused(from: string, reason: string, fields: Record<string, unknown> = {}): void {
    const now = this.#now();
    const budget = this.#budget(sourceIp(from), now);
    let suppressed = 0;
    if (now - budget.windowStart >= this.#limits.windowMs) {
      suppressed = budget.suppressed;
      budget.windowStart = now;
      budget.logged = 0;
      budget.suppressed = 0;
    }
    if (budget.logged >= this.#limits.perWindow) {
      budget.suppressed++;
      return;
    }
    budget.logged++;
    this.#log.warn(this.#message, {
      from,
      reason,
      ...fields,
      ...(suppressed > 0 && { suppressed }),
      ...(budget.logged === this.#limits.perWindow && { rateLimited: true }),
    });
  }

  #budget(source: string, now: number): Budget {
    const known = this.#budgets.get(source);
    if (known) return known;
    if (this.#budgets.size >= this.#limits.maxSources) {
      for (const [key, b] of this.#budgets) {
        if (now - b.windowStart >= this.#limits.windowMs) this.#budgets.delete(key);
      }
    }
    const key = this.#budgets.size < this.#limits.maxSources ? source : OVERFLOW;
    let budget = this.#budgets.get(key);
    if (!budget) {
      // A fresh budget starts an expired window, so its first refusal opens one.
      budget = { windowStart: -Infinity, logged: 0, suppressed: 0 };
      this.#budgets.set(key, budget);
    }
    return budget;
  }
}

/** The IP of "ip:port": "1.2.3.4:5", "[::1]:5", or "::1:5" as grpc-js's getPeer spells IPv6. */
export function sourceIp(from: string): string {
  const bracketed = /^\[(.*)\]:\d+$/.exec(from);
  if (bracketed) return bracketed[1] as string;
  const colon = from.lastIndexOf(':');
  return colon > 0 ? from.slice(0, colon) : from;
}
