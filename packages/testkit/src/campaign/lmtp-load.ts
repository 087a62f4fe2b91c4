import type { Ledger, LedgerEntry } from './ledger.js';
import { LineConn } from './line-conn.js';
import type { Rng } from './rng.js';

export interface LmtpStats {
  messages: number;
  transactions: number;
  /** Recipient deliveries acknowledged with 250. */
  delivered: number;
  /** 4xx replies (RCPT or after DATA) and failed connections: each retried later. */
  tempFailures: number;
  connectFailures: number;
}

interface Job {
  readonly messageId: string;
  readonly subject: string;
  /** Recipients still to deliver. */
  rcpts: string[];
  notBefore: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * MTAs delivering through random nodes: messages with a unique Message-Id to 1..3 users (often on
 * different backends), every 4xx and every lost connection retried later for the recipients it
 * concerned, as an MTA's queue would, until the message is accepted for each of them.
 */
export class LmtpLoad {
  readonly stats: LmtpStats = { messages: 0, transactions: 0, delivered: 0, tempFailures: 0, connectFailures: 0 };
  private readonly queue: Job[] = [];
  private generating = true;
  private running = true;
  private workers: Promise<void>[] = [];
  private next = 0;

  constructor(
    private readonly o: {
      readonly seed: number;
      readonly nodes: () => readonly string[];
      readonly port: number;
      readonly users: readonly string[];
      readonly workers: number;
      readonly rng: Rng;
      readonly ledger: Ledger;
    },
  ) {}

  start(): void {
    this.workers = Array.from({ length: this.o.workers }, () => this.work());
  }

  /** Recipients not yet accepted. */
  get pending(): number {
    return this.queue.reduce((n, j) => n + j.rcpts.length, 0);
  }

  /** Stop making new messages; keep retrying until nothing is pending or the deadline passes. */
  async drain(timeoutMs: number): Promise<void> {
    this.generating = false;
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && (this.queue.length > 0 || this.busy > 0)) await sleep(100);
    this.running = false;
    await Promise.all(this.workers);
  }

  private busy = 0;

  private async work(): Promise<void> {
    const rng = this.o.rng;
    while (this.running) {
      const job = this.take();
      if (!job) {
        await sleep(this.generating ? 0 : 100);
        if (!this.generating) continue;
      }
      const j = job ?? this.fresh();
      this.busy++;
      try {
        await this.attempt(j);
      } finally {
        this.busy--;
      }
      if (j.rcpts.length > 0) {
        j.notBefore = Date.now() + rng.int(300, 1500);
        this.queue.push(j);
      }
      await sleep(rng.int(50, 400));
    }
  }

  private take(): Job | undefined {
    const now = Date.now();
    const i = this.queue.findIndex((j) => j.notBefore <= now);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  private fresh(): Job {
    const n = ++this.next;
    this.stats.messages++;
    const rcpts = this.o.rng.sample(this.o.users, this.o.rng.int(1, 3));
    return { messageId: `<c${this.o.seed}-l${n}@campaign.usher>`, subject: `campaign lmtp ${n}`, rcpts, notBefore: 0 };
  }

  /** One transaction; recipients that got 250 leave `job.rcpts`. */
  private async attempt(job: Job): Promise<void> {
    const entries = new Map<string, LedgerEntry>(
      job.rcpts.map((u) => [u, this.o.ledger.entry(job.messageId, u, 'lmtp')]),
    );
    for (const e of entries.values()) e.attempts++;
    let conn: LineConn;
    const node = this.o.rng.pick(this.o.nodes());
    try {
      conn = await LineConn.open(node, this.o.port, 3000);
    } catch {
      this.stats.connectFailures++;
      this.stats.tempFailures++;
      return;
    }
    this.stats.transactions++;
    let dotSent = false;
    const waiting: string[] = [];
    try {
      await expect(conn, 220);
      conn.write('LHLO campaign.test\r\n');
      await expect(conn, 250);
      conn.write('MAIL FROM:<load@campaign.test>\r\n');
      await expect(conn, 250);
      for (const user of job.rcpts) {
        conn.write(`RCPT TO:<${user}@demo.test>\r\n`);
        const r = await reply(conn);
        if (r.code === 250) waiting.push(user);
        else this.failed(entries.get(user), r, false, node);
      }
      if (waiting.length === 0) {
        conn.write('QUIT\r\n');
        return;
      }
      conn.write('DATA\r\n');
      await expect(conn, 354);
      conn.write(body(job));
      dotSent = true;
      for (const user of [...waiting]) {
        const r = await reply(conn, 30_000);
        waiting.shift();
        const e = entries.get(user) as LedgerEntry;
        if (r.code === 250) {
          e.accepted = true;
          this.stats.delivered++;
          job.rcpts = job.rcpts.filter((u) => u !== user);
        } else this.failed(e, r, true, node);
      }
      conn.write('QUIT\r\n');
    } catch {
      // closed, silent or nonsense: the rest of the recipients failed for sure before the dot,
      // and may or may not have been stored after it
      this.stats.tempFailures++;
      if (dotSent)
        for (const user of waiting) {
          const e = entries.get(user) as LedgerEntry;
          e.ambiguous++;
          e.ambiguousWhy = `connection to ${node} lost after the final dot`;
        }
    } finally {
      conn.close();
    }
  }

  private failed(e: LedgerEntry | undefined, r: Reply, afterData: boolean, node: string): void {
    if (!e) return;
    if (r.code >= 500) {
      e.rejected = r.text;
      // an MTA bounces a 5xx: nothing to retry
      return;
    }
    this.stats.tempFailures++;
    // after the body went out, two answers leave the message possibly stored: the proxy lost the
    // backend (4.4.2), or the backend itself closed the channel (a 421, which usherd relays as
    // 451 4.4.2): Dovecot 2.3 stopped mid-DATA logs "saved mail" and then "Shutting down
    // (unfinished DATA command)"
    if (afterData && (r.code === 421 || /\b4\.4\.2\b/.test(r.text))) {
      e.ambiguous++;
      e.ambiguousWhy = `${node}: ${r.text}`;
    }
  }
}

interface Reply {
  code: number;
  text: string;
}

class UnexpectedReply extends Error {}

async function reply(conn: LineConn, timeoutMs = 15_000): Promise<Reply> {
  let text = '';
  for (;;) {
    const line = await conn.readLine(timeoutMs);
    text += `${line}\n`;
    const m = /^(\d{3})([ -])/.exec(line) ?? /^(\d{3})$/.exec(line);
    if (!m) throw new UnexpectedReply(`not an LMTP reply: ${line}`);
    if (m[2] !== '-') return { code: Number(m[1]), text: text.trim() };
  }
}

async function expect(conn: LineConn, code: number): Promise<void> {
  const r = await reply(conn);
  if (r.code !== code) throw new UnexpectedReply(`expected ${code}, got ${r.text}`);
}

function body(job: Job): string {
  return [
    `Message-Id: ${job.messageId}`,
    `Subject: ${job.subject}`,
    'From: load@campaign.test',
    'To: campaign@demo.test',
    '',
    `This is ${job.subject}.`,
    '..a line that starts with a dot, to keep dot-stuffing honest',
    '.',
    '',
  ].join('\r\n');
}
