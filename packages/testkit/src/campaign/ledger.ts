/** Something the campaign promises never happens. */
export interface Violation {
  readonly kind:
    | 'two-backends'
    | 'lost'
    | 'duplicated'
    | 'never-accepted'
    | 'rejected'
    | 'node-crashed'
    | 'node-restart-failed'
    | 'unhandled-error'
    | 'backend-unreachable'
    | 'leaked-session';
  /** Ms since the campaign started. */
  readonly atMs: number;
  readonly detail: string;
}

export const MESSAGE_ID_DOMAIN = 'campaign.usher';

/**
 * What happened to one message for one recipient (LMTP) or one APPEND (IMAP). Ambiguous attempts are
 * those where the server may have stored the message without us hearing so: the connection died
 * after the final dot or after the literal, or the proxy reported the backend lost during DATA
 * (RFC 1047's window). Each may leave one extra copy; nothing else may.
 */
export interface LedgerEntry {
  readonly messageId: string;
  readonly user: string;
  readonly via: 'lmtp' | 'imap';
  /** Got 250 (LMTP) or a tagged OK (APPEND). */
  accepted: boolean;
  attempts: number;
  ambiguous: number;
  /** What made the last ambiguous attempt ambiguous, and through which node. */
  ambiguousWhy: string | undefined;
  /** A 5xx / NO for a message that should have been taken: reported as a violation. */
  rejected: string | undefined;
}

export interface LedgerSummary {
  readonly entries: number;
  readonly accepted: number;
  readonly retried: number;
  readonly ambiguousAttempts: number;
  /** Copies found on the backends for accepted entries. */
  readonly copiesFound: number;
  /** Entries that ended with one more copy than acknowledged, within their ambiguous attempts (allowed). */
  readonly ambiguousDuplicates: number;
  /** A few of those, for the report ("lmtp <id> for user: 2 copies, 1 ambiguous attempt"). */
  readonly ambiguousExamples: readonly string[];
}

export class Ledger {
  private readonly entries = new Map<string, LedgerEntry>();

  /** The entry of (message, user), created on first use. */
  entry(messageId: string, user: string, via: 'lmtp' | 'imap'): LedgerEntry {
    const key = keyOf(user, messageId);
    let e = this.entries.get(key);
    if (!e) {
      e = {
        messageId,
        user,
        via,
        accepted: false,
        attempts: 0,
        ambiguous: 0,
        ambiguousWhy: undefined,
        rejected: undefined,
      };
      this.entries.set(key, e);
    }
    return e;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Compares the ledger with what the backends hold (`copies`: "user\tmessage-id" -> count, summed
   * over every backend). `isOurs` says whether a message id found on a backend belongs to this run.
   */
  verify(copies: ReadonlyMap<string, number>, atMs: number): { violations: Violation[]; summary: LedgerSummary } {
    const violations: Violation[] = [];
    let accepted = 0;
    let retried = 0;
    let ambiguousAttempts = 0;
    let copiesFound = 0;
    let ambiguousDuplicates = 0;
    const ambiguousExamples: string[] = [];
    for (const [key, e] of this.entries) {
      const n = copies.get(key) ?? 0;
      ambiguousAttempts += e.ambiguous;
      if (e.attempts > 1) retried++;
      const what = `${e.via} ${e.messageId} for ${e.user}`;
      if (e.rejected !== undefined) {
        violations.push({ kind: 'rejected', atMs, detail: `${what} was refused permanently: ${e.rejected}` });
        continue;
      }
      if (e.accepted) {
        accepted++;
        copiesFound += n;
        if (n === 0) violations.push({ kind: 'lost', atMs, detail: `${what} was acknowledged but is on no backend` });
        else if (n > 1 + e.ambiguous)
          violations.push({
            kind: 'duplicated',
            atMs,
            detail: `${what}: ${n} copies, acknowledged once, ${e.ambiguous} ambiguous attempt(s)`,
          });
        else if (n > 1) {
          ambiguousDuplicates++;
          if (ambiguousExamples.length < 5) ambiguousExamples.push(`${what}: ${n} copies (${e.ambiguousWhy})`);
        }
        continue;
      }
      // never acknowledged: LMTP must have been retried until accepted; an APPEND is the client's loss
      if (e.via === 'lmtp')
        violations.push({
          kind: 'never-accepted',
          atMs,
          detail: `${what} was never accepted after ${e.attempts} attempt(s)`,
        });
      if (n > e.ambiguous)
        violations.push({
          kind: 'duplicated',
          atMs,
          detail: `${what}: ${n} copies, never acknowledged, ${e.ambiguous} ambiguous attempt(s)`,
        });
    }
    return {
      violations,
      summary: {
        entries: this.entries.size,
        accepted,
        retried,
        ambiguousAttempts,
        copiesFound,
        ambiguousDuplicates,
        ambiguousExamples,
      },
    };
  }
}

export function keyOf(user: string, messageId: string): string {
  return `${user}\t${messageId}`;
}

/** Counts "user\tmessage-id" rows of `doveadm -f tab fetch -A hdr.message-id` output into `into`. */
export function countFetched(output: string, isOurs: (messageId: string) => boolean, into: Map<string, number>): void {
  for (const line of output.split('\n').slice(1)) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const user = line.slice(0, tab);
    const id = line.slice(tab + 1).trim();
    if (!isOurs(id)) continue;
    const key = keyOf(user, id);
    into.set(key, (into.get(key) ?? 0) + 1);
  }
}
