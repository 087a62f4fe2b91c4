/**
 * The seam between the backend health checks (`@usher/health`) and the cluster. Health never sees
 * the ring: it probes backends, tells the cluster what this node concluded, hears what the other
 * nodes concluded, and asks the cluster to mark a backend down or up once a majority agrees.
 * `server` wires it to the ring; a test can wire it to anything.
 */

/** One node's verdict on one backend, after hysteresis (not a single probe). */
export interface HealthVerdict {
  readonly ip: string;
  readonly failing: boolean;
  /** Unix ms (on the reporting node's clock) since when the verdict holds: for operators, not for decisions. */
  readonly sinceMs: number;
}

/**
 * Everything one node currently concludes about the backends it probes. Only a node's latest report
 * counts, so a lost or reordered one is repaired by the next; a report is re-sent periodically.
 */
export interface HealthReport {
  /** The reporting node's id ("ip:port"). */
  readonly node: string;
  /** A backend the node has no verdict on yet (hysteresis not reached) is absent. */
  readonly verdicts: readonly HealthVerdict[];
  /**
   * The report stands for this long after it arrives. A node whose last report is older than that
   * is not reachable (crashed, partitioned away) and no longer votes.
   */
  readonly validMs: number;
}

/** A backend as the cluster knows it now. */
export interface HealthHost {
  readonly ip: string;
  readonly down: boolean;
  /**
   * Down by an operator (HOST-DOWN). It holds until an operator's HOST-UP: health neither brings
   * such a host up nor takes the decision away from the operator.
   */
  readonly manualDown: boolean;
  /** Unix seconds of the host's last up/down change (0 = never), whoever made it. */
  readonly lastUpdownChange: number;
}

export interface HostHealthSink {
  /** This node's id, as it appears in `HealthReport.node`. */
  readonly self: string;
  /** The backends to probe and their current state (read on every round: hosts come and go). */
  hosts(): readonly HealthHost[];
  /** Tell every other node what this node concludes (`report.node` is `self`). */
  publish(report: HealthReport): void;
  /** Reports of the other nodes, as they arrive (never this node's own). */
  onReport(handler: (report: HealthReport) => void): void;
  /**
   * Mark a backend down or up cluster-wide on behalf of the health checks. Does nothing to a host
   * an operator marked down, nor to one already in the wanted state; resolves once the cluster
   * confirmed the change (rejects when it could not).
   */
  setHealthDown(ip: string, down: boolean): Promise<void>;
  /**
   * Move the users of a backend to where placement now puts them (a ring-wide move per user, with
   * kicks), as HOST-RESET-USERS does. Used for backends down for long.
   */
  moveUsersOff(ip: string): Promise<{ readonly moved: number; readonly failed: number }>;
}
