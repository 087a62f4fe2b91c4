import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { adminListing } from '@usher/testkit';

/** What Debian's real doveadm printed and returned. */
export interface DoveadmResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * `doveadm -O director <args> -a <socket>`: -O so no dovecot.conf is read (doveadm needs none for
 * director commands); the hash format is the nodes' own, for `move` and `map`. Dates print in UTC.
 */
export function doveadm(socket: string, args: readonly string[], hashFormat = '%Ln'): Promise<DoveadmResult> {
  const verbose = args[0] === '-v';
  const rest = verbose ? args.slice(1) : args;
  const argv = [
    '-O',
    ...(verbose ? ['-v'] : []),
    '-o',
    `director_username_hash=${hashFormat}`,
    'director',
    ...rest,
    '-a',
    socket,
  ];
  return new Promise((resolve) => {
    execFile('doveadm', argv, { timeout: 60_000, env: { ...process.env, TZ: 'UTC' } }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ stdout, stderr, code: typeof code === 'number' ? code : 1 });
    });
  });
}

/** One row of `doveadm director status`. */
export interface StatusRow {
  readonly ip: string;
  readonly tag: string;
  readonly vhosts: number;
  readonly state: 'up' | 'down';
  readonly changed: string;
  readonly users: number;
}

const STATUS_ROW = /^(\S+)\s+(\S*)\s+(\d+)\s+(up|down)\s+(-|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\d+)\s*$/;

export function parseStatus(stdout: string): StatusRow[] {
  const [header, ...rows] = stdout.split('\n').filter((l) => l !== '');
  if (!header?.startsWith('mail server ip tag')) throw new Error(`not a status table:\n${stdout}`);
  return rows.map((l) => {
    const m = STATUS_ROW.exec(l);
    if (!m) throw new Error(`bad status row: ${JSON.stringify(l)}`);
    return {
      ip: m[1] as string,
      tag: m[2] as string,
      vhosts: Number(m[3]),
      state: m[4] as 'up' | 'down',
      changed: m[5] as string,
      users: Number(m[6]),
    };
  });
}

/** Raw director-admin: greeting and VERSION, then the lines; resolves with the reply lines (greeting excluded). */
export function adminExchange(socket: string, lines: readonly string[], replyLines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socket });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete reply from ${socket}: ${JSON.stringify(data)}`));
    }, 30_000);
    sock.on('data', (c: Buffer) => {
      data += c.toString();
      const all = data.split('\n');
      if (all.length - 2 >= replyLines) {
        clearTimeout(timer);
        sock.destroy();
        resolve(all.slice(1, 1 + replyLines));
      }
    });
    sock.on('error', reject);
    sock.write(`VERSION\tdirector-doveadm\t1\t0\n${lines.map((l) => `${l}\n`).join('')}`);
  });
}

/**
 * Logins reach the other nodes asynchronously (a node floods its new assignments in batches): wait
 * until every node has `user` on `backend` before asking anything that depends on it.
 */
export async function waitAssigned(c: { sockets: readonly string[] }, user: string, backend: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const socket of c.sockets) {
    for (;;) {
      const [line] = await adminExchange(socket, [`USER-LOOKUP\t${user}`], 1);
      if (line?.startsWith(`${backend}\t`)) break;
      if (Date.now() > deadline) throw new Error(`${user} not on ${backend} at ${socket}: ${line}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A list command's rows (fields split on TAB), read up to its empty line. */
export async function adminList(socket: string, command: string): Promise<string[][]> {
  return (await adminListing(socket, [command])).map((l) => l.split('\t'));
}

/**
 * A logged-in IMAP session through a node: which backend serves it (the test backends name
 * themselves in their ID reply), and whether the node closed it.
 */
export class ImapSession {
  readonly backend: string;
  readonly closed: Promise<string>;
  private readonly sock: Socket;

  private constructor(sock: Socket, backend: string, closed: Promise<string>) {
    this.sock = sock;
    this.backend = backend;
    this.closed = closed;
  }

  static async open(host: string, port: number, user: string): Promise<ImapSession> {
    const sock = connect({ host, port });
    let data = '';
    let isClosed = false;
    const closed = new Promise<string>((resolve) =>
      sock.on('close', () => {
        isClosed = true;
        resolve(data);
      }),
    );
    sock.on('error', () => {});
    sock.on('data', (c: Buffer) => {
      data += c.toString();
    });
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!re.test(data)) {
        if (isClosed || Date.now() > deadline)
          throw new Error(`IMAP ${user}@${host}: no ${re} in ${JSON.stringify(data)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until(/^\* OK/m);
    sock.write(`a LOGIN ${user} demo\r\n`);
    await until(/^a OK/m);
    sock.write('b ID NIL\r\n');
    await until(/^b OK/m);
    const backend = /"x-backend" "([^"]+)"/.exec(data)?.[1];
    if (!backend) throw new Error(`IMAP ${user}: no x-backend in ${JSON.stringify(data)}`);
    return new ImapSession(sock, backend, closed);
  }

  /** Resolves true when the node closed the session within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }

  close(): void {
    this.sock.destroy();
  }
}
