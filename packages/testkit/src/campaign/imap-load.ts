import type { Ledger } from './ledger.js';
import { LineConn } from './line-conn.js';
import type { Rng } from './rng.js';

export interface ImapStats {
  sessions: number;
  logins: number;
  /** NO to LOGIN (backend down, routing timeout): the client tries again later. */
  loginFailures: number;
  connectFailures: number;
  commands: number;
  idles: number;
  appends: number;
  /** Sessions ended by the server with BYE (kicks, shutdown). */
  byes: number;
  /** Sessions that died without BYE (node killed, backend stopped, timeouts). */
  dropped: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class SessionEnded extends Error {
  constructor(readonly bye: boolean) {
    super(bye ? 'BYE' : 'connection lost');
  }
}

/**
 * Long-lived IMAP users: each worker logs a (random, often shared) user in through a random node,
 * SELECTs INBOX, then NOOPs, FETCHes, APPENDs (into the ledger) and IDLEs a few seconds at a time,
 * LOGOUTs after a while and starts over elsewhere. Two workers on one user through different nodes
 * are what the two-backends checker is for.
 */
export class ImapLoad {
  readonly stats: ImapStats = {
    sessions: 0,
    logins: 0,
    loginFailures: 0,
    connectFailures: 0,
    commands: 0,
    idles: 0,
    appends: 0,
    byes: 0,
    dropped: 0,
  };
  private running = true;
  private workers: Promise<void>[] = [];
  private nextAppend = 0;

  constructor(
    private readonly o: {
      readonly seed: number;
      readonly nodes: () => readonly string[];
      readonly port: number;
      readonly users: readonly string[];
      readonly password: string;
      readonly sessions: number;
      /** Commands per session before LOGOUT, [min, max]; default [3, 15]. */
      readonly opsPerSession?: readonly [number, number];
      readonly rng: Rng;
      readonly ledger: Ledger;
    },
  ) {}

  start(): void {
    this.workers = Array.from({ length: this.o.sessions }, () => this.work());
  }

  /** Ends every session (LOGOUT where possible) and waits for the workers. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    const rng = this.o.rng;
    while (this.running) {
      const user = rng.pick(this.o.users);
      let conn: LineConn;
      try {
        conn = await LineConn.open(rng.pick(this.o.nodes()), this.o.port, 3000);
      } catch {
        this.stats.connectFailures++;
        await sleep(rng.int(200, 800));
        continue;
      }
      this.stats.sessions++;
      try {
        await this.session(conn, user);
      } catch (e) {
        if (e instanceof SessionEnded && e.bye) this.stats.byes++;
        else this.stats.dropped++;
        await sleep(rng.int(100, 600));
      } finally {
        conn.close();
      }
    }
  }

  private async session(conn: LineConn, user: string): Promise<void> {
    const rng = this.o.rng;
    const greeting = await conn.readLine(10_000);
    if (!greeting.startsWith('* OK')) throw new SessionEnded(greeting.startsWith('* BYE'));
    const login = await this.command(conn, `LOGIN ${user} ${this.o.password}`);
    if (login !== 'OK') {
      this.stats.loginFailures++;
      await sleep(rng.int(300, 1000));
      return;
    }
    this.stats.logins++;
    await this.command(conn, 'SELECT INBOX');
    const [least, most] = this.o.opsPerSession ?? [3, 15];
    const ops = rng.int(least, most);
    for (let i = 0; i < ops && this.running; i++) {
      const r = rng.next();
      if (r < 0.35) await this.command(conn, 'NOOP');
      else if (r < 0.55) await this.command(conn, 'FETCH 1:* (UID FLAGS)');
      else if (r < 0.7) await this.append(conn, user);
      else await this.idle(conn, rng.int(500, 4000));
      await sleep(rng.int(100, 1000));
    }
    await this.command(conn, 'LOGOUT');
  }

  private tag = 0;

  /** Sends a command and returns the tagged status word. */
  private async command(conn: LineConn, text: string): Promise<string> {
    const tag = `c${++this.tag}`;
    conn.write(`${tag} ${text}\r\n`);
    this.stats.commands++;
    return this.tagged(conn, tag);
  }

  private async tagged(conn: LineConn, tag: string, timeoutMs = 10_000): Promise<string> {
    let bye = false;
    for (;;) {
      let line: string;
      try {
        line = await conn.readLine(timeoutMs);
      } catch {
        throw new SessionEnded(bye);
      }
      if (line.startsWith('* BYE')) bye = true;
      if (line.startsWith(`${tag} `)) return line.slice(tag.length + 1).split(' ')[0] ?? '';
    }
  }

  private async append(conn: LineConn, user: string): Promise<void> {
    const n = ++this.nextAppend;
    const messageId = `<c${this.o.seed}-a${n}@campaign.usher>`;
    const message = [
      `Message-Id: ${messageId}`,
      `Subject: campaign append ${n}`,
      'From: load@campaign.test',
      '',
      `Appended by an IMAP session of ${user}.`,
      '',
    ].join('\r\n');
    const tag = `c${++this.tag}`;
    conn.write(`${tag} APPEND INBOX {${Buffer.byteLength(message)}}\r\n`);
    this.stats.commands++;
    for (;;) {
      let line: string;
      try {
        line = await conn.readLine(20_000);
      } catch {
        throw new SessionEnded(false);
      }
      if (line.startsWith('+')) break;
      if (line.startsWith(`${tag} `)) return;
    }
    const entry = this.o.ledger.entry(messageId, user, 'imap');
    entry.attempts++;
    conn.write(`${message}\r\n`);
    let status: string;
    try {
      status = await this.tagged(conn, tag);
    } catch (e) {
      // the literal went out: the backend may have stored it before the session died
      entry.ambiguous++;
      entry.ambiguousWhy = 'session lost after the literal was sent';
      throw e;
    }
    if (status === 'OK') {
      entry.accepted = true;
      this.stats.appends++;
    }
  }

  private async idle(conn: LineConn, ms: number): Promise<void> {
    const tag = `c${++this.tag}`;
    conn.write(`${tag} IDLE\r\n`);
    this.stats.commands++;
    for (;;) {
      let line: string;
      try {
        line = await conn.readLine(20_000);
      } catch {
        throw new SessionEnded(false);
      }
      if (line.startsWith('* BYE')) throw new SessionEnded(true);
      if (line.startsWith('+')) break;
      if (line.startsWith(`${tag} `)) return;
    }
    this.stats.idles++;
    // while idling, untagged EXISTS from LMTP deliveries may arrive; a BYE ends the session
    const until = Date.now() + ms;
    while (Date.now() < until && this.running) {
      try {
        const line = await conn.readLine(Math.max(1, until - Date.now()));
        if (line.startsWith('* BYE')) throw new SessionEnded(true);
      } catch (e) {
        if (e instanceof SessionEnded) throw e;
        if (conn.closed) throw new SessionEnded(false);
        break;
      }
    }
    conn.write('DONE\r\n');
    await this.tagged(conn, tag);
  }
}
