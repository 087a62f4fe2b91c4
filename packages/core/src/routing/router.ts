/**
 * The narrow seam between the protocol front ends (proxy, health) and the cluster state.
 * The proxy never sees the ring: `server` wires a Router backed by the local directory
 * (standalone) or by the replicated one (ring).
 */
export interface Route {
  /** Backend IP in the director's text form (inet_ntop). */
  readonly backend: string;
  /** Optional hostname the backend was configured by (for TLS name checks). */
  readonly backendName?: string;
  readonly userHash: number;
  readonly tag: string;
}

export interface Router {
  /**
   * Where this user goes. Creates or refreshes the user's assignment.
   * Rejects with a RoutingError (a temporary failure for the client) when no backend can be chosen.
   */
  route(username: string, tag: string): Promise<Route>;
  /** An open session of this user is still alive: keep the assignment from expiring. */
  refresh(userHash: number, tag: string): void;
  /** Interval (ms) at which open sessions should call refresh: user_expire / 2. */
  readonly refreshIntervalMs: number;
}

/** Source of time, injected at the edge; core never reads the clock itself. */
export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
}
