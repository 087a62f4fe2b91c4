import type { HealthHost } from '@usher/core';

/**
 * The cluster-wide rule, pure. Every node holds the latest report of every reachable node (itself
 * included) and evaluates the same rule on it:
 *
 * - A backend is agreed failing when MORE than half of the reachable nodes say failing, and agreed ok
 *   when more than half say ok. A node without a verdict yet counts as reachable but votes for
 *   neither, so one node with a bad link to a backend never flips it, and neither does a node
 *   that just started.
 * - Exactly one node applies an agreed change: the lowest node id among those whose own verdict is
 *   the agreed one. Since reports flood to everyone, the nodes' views converge and so does their
 *   choice; the others stay out of the way, so nodes do not fight over the host record.
 * - A backend an operator marked down is left alone.
 */

/** One reachable node's latest verdicts: ip -> failing. */
export interface NodeView {
  readonly node: string;
  readonly verdicts: ReadonlyMap<string, boolean>;
}

export interface Tally {
  /** Reachable nodes (each view counts once, with or without a verdict on this backend). */
  readonly voters: number;
  readonly failing: number;
  readonly ok: number;
  /** The majority's verdict, or undefined when neither side has more than half. */
  readonly agreed: 'failing' | 'ok' | undefined;
  /** The node that applies the agreed verdict: the lowest id among the nodes holding it. */
  readonly applier: string | undefined;
}

export function tally(ip: string, views: readonly NodeView[]): Tally {
  let failing = 0;
  let ok = 0;
  let lowestFailing: string | undefined;
  let lowestOk: string | undefined;
  for (const v of views) {
    const f = v.verdicts.get(ip);
    if (f === true) {
      failing++;
      if (lowestFailing === undefined || v.node < lowestFailing) lowestFailing = v.node;
    } else if (f === false) {
      ok++;
      if (lowestOk === undefined || v.node < lowestOk) lowestOk = v.node;
    }
  }
  const voters = views.length;
  const agreed = failing * 2 > voters ? 'failing' : ok * 2 > voters ? 'ok' : undefined;
  const applier = agreed === 'failing' ? lowestFailing : agreed === 'ok' ? lowestOk : undefined;
  return { voters, failing, ok, agreed, applier };
}

/** What `self` must do about the host: mark it down, up, or nothing (not its turn, already so, manual). */
export function decide(host: HealthHost, t: Tally, self: string): 'down' | 'up' | undefined {
  if (host.manualDown || t.applier !== self) return undefined;
  if (t.agreed === 'failing' && !host.down) return 'down';
  if (t.agreed === 'ok' && host.down) return 'up';
  return undefined;
}

/** A report as received, with when. */
export interface ReceivedReport {
  readonly view: NodeView;
  readonly receivedAt: number;
  readonly validMs: number;
}

/** The views of the nodes heard from recently enough: the reachable ones. */
export function reachable(reports: Iterable<ReceivedReport>, nowMs: number): NodeView[] {
  const out: NodeView[] = [];
  for (const r of reports) if (nowMs - r.receivedAt <= r.validMs) out.push(r.view);
  return out;
}
